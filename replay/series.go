package replay

import (
	"fmt"
	"time"
)

// Series is what a replay's report draws (Report.Series): the rate on
// the wire over time, from each interface's counters sampled during the
// run; the send-time error (when each item left minus when it was due);
// the super-packets' sizes; each pipeline's share. It stays small however
// long the run: the counters are sampled every 10 ms, and whenever
// MaxSamples are held every other one is dropped and the period doubled
// (a rate is then the mean over a longer interval, still exact); the send
// error is kept in at most MaxErrorBins bins of 1 ms that double in width
// as needed, each with its count, least, mean and most (a late send stays
// visible in its bin's maximum).
type Series struct {
	How  string       `json:"how"`
	Wire []WireSeries `json:"wire"`
	// SendError is nil when nothing was scheduled (top speed, or
	// --oneatatime).
	SendError *ErrorSeries `json:"send_error,omitempty"`
	// Segments counts super-packets sent by segments (labels as
	// coalesce.SegmentBucketNames), every pass.
	Segments []Count        `json:"segments_histogram"`
	Threads  []ThreadSeries `json:"threads"`
}

// WireSeries is one interface's rate: at T[i] seconds after the start of
// the replay, the frames and Gbit/s its counters gained since T[i-1] (T[0]
// and its rates are the first interval's).
type WireSeries struct {
	Interface  string    `json:"interface"`
	T          []float64 `json:"t_s"`
	FramesPerS []float64 `json:"frames_per_s"`
	GbitPerS   []float64 `json:"gbit_per_s"`
}

// ErrorSeries is the send-time error: for the items due in the bin that
// starts T[i] seconds after the start of the replay (BinS long), how many
// left and how late, least, mean and most, in microseconds; and the
// distribution of every item's error.
type ErrorSeries struct {
	BinS   float64   `json:"bin_s"`
	Sends  int64     `json:"sends"`
	T      []float64 `json:"t_s"`
	Count  []int64   `json:"count"`
	MinUS  []float64 `json:"min_us"`
	MeanUS []float64 `json:"mean_us"`
	MaxUS  []float64 `json:"max_us"`
	// Histogram counts the items by error, from the first bucket that
	// holds any to the last ("early", then 1-2-5 steps from 1 µs).
	Histogram []Count `json:"histogram"`
}

// Count is one bar of a histogram.
type Count struct {
	Label string `json:"label"`
	Count int64  `json:"count"`
}

// ThreadSeries is what one pipeline sent.
type ThreadSeries struct {
	Thread       int   `json:"thread"`
	Frames       int64 `json:"frames"`
	Bytes        int64 `json:"bytes"`
	Sends        int64 `json:"sends"`
	SuperPackets int64 `json:"super_packets"`
	Failed       int64 `json:"failed"`
}

// Bounds of the series.
const (
	MaxSamples   = 1024
	MaxErrorBins = 512
	samplePeriod = 10 * time.Millisecond
	errorBin     = time.Millisecond
)

// lagEdges are the upper bounds of the send-error histogram's buckets
// after the first (early): 1-2-5 steps from 1 µs to 1 s, then the rest.
var lagEdges = func() []time.Duration {
	var e []time.Duration
	for d := time.Microsecond; d <= time.Second; d *= 10 {
		e = append(e, d, 2*d, 5*d)
	}
	return e[:len(e)-2] // ..., 500 ms, 1 s
}()

// lagLabels names the histogram's buckets.
func lagLabels() []string {
	l := []string{"early"}
	lo := time.Duration(0)
	for _, e := range lagEdges {
		if lo == 0 {
			l = append(l, fmt.Sprintf("0–%v", e))
		} else {
			l = append(l, fmt.Sprintf("%v–%v", lo, e))
		}
		lo = e
	}
	return append(l, fmt.Sprintf("over %v", lo))
}

// lagBin is one bin of the send error, in nanoseconds.
type lagBin struct {
	n, sum, min, max int64
}

// lagRecorder collects one pipeline's send errors, with no allocation:
// bins of width (doubling when an item falls past the last) and the
// histogram.
type lagRecorder struct {
	width time.Duration
	used  int
	bins  [MaxErrorBins]lagBin
	hist  [32]int64
	sends int64
}

func newLagRecorder() *lagRecorder { return &lagRecorder{width: errorBin} }

// add records an item due at (since the start) that left lag after.
func (r *lagRecorder) add(at, lag time.Duration) {
	r.sends++
	r.hist[lagBucket(lag)]++
	at = max(at, 0)
	i := int(at / r.width)
	for i >= MaxErrorBins {
		r.coarsen()
		i = int(at / r.width)
	}
	b := &r.bins[i]
	v := int64(lag)
	if b.n == 0 || v < b.min {
		b.min = v
	}
	if b.n == 0 || v > b.max {
		b.max = v
	}
	b.n++
	b.sum += v
	r.used = max(r.used, i+1)
}

func lagBucket(lag time.Duration) int {
	if lag < 0 {
		return 0
	}
	for i, e := range lagEdges {
		if lag < e {
			return i + 1
		}
	}
	return len(lagEdges) + 1
}

// coarsen merges the bins two by two and doubles their width.
func (r *lagRecorder) coarsen() {
	for i := 0; i < MaxErrorBins/2; i++ {
		r.bins[i] = mergeBins(r.bins[2*i], r.bins[2*i+1])
	}
	clear(r.bins[MaxErrorBins/2:])
	r.width *= 2
	r.used = (r.used + 1) / 2
}

func mergeBins(a, b lagBin) lagBin {
	switch {
	case a.n == 0:
		return b
	case b.n == 0:
		return a
	}
	return lagBin{n: a.n + b.n, sum: a.sum + b.sum, min: min(a.min, b.min), max: max(a.max, b.max)}
}

// merge adds o's errors to r (another pipeline's on the same clock).
func (r *lagRecorder) merge(o *lagRecorder) {
	for r.width < o.width {
		r.coarsen()
	}
	o2 := *o
	for o2.width < r.width {
		o2.coarsen()
	}
	for i := range o2.used {
		r.bins[i] = mergeBins(r.bins[i], o2.bins[i])
	}
	r.used = max(r.used, o2.used)
	for i := range r.hist {
		r.hist[i] += o.hist[i]
	}
	r.sends += o.sends
}

// series is r as a report (nil when nothing was recorded).
func (r *lagRecorder) series() *ErrorSeries {
	if r == nil || r.sends == 0 {
		return nil
	}
	e := &ErrorSeries{BinS: r.width.Seconds(), Sends: r.sends}
	for i, b := range r.bins[:r.used] {
		if b.n == 0 {
			continue
		}
		e.T = append(e.T, (time.Duration(i) * r.width).Seconds())
		e.Count = append(e.Count, b.n)
		e.MinUS = append(e.MinUS, float64(b.min)/1e3)
		e.MeanUS = append(e.MeanUS, float64(b.sum)/float64(b.n)/1e3)
		e.MaxUS = append(e.MaxUS, float64(b.max)/1e3)
	}
	lo, hi := 0, 0 // the buckets from the first to the last that count
	for i, n := range r.hist {
		if n > 0 {
			if hi == 0 {
				lo = i
			}
			hi = i + 1
		}
	}
	for i, l := range lagLabels()[lo:hi] {
		e.Histogram = append(e.Histogram, Count{Label: l, Count: r.hist[lo+i]})
	}
	return e
}

// counterSamples are one run's interface counters, cumulative from the
// start, at most MaxSamples of them (see Series).
type counterSamples struct {
	period time.Duration
	t      []time.Duration
	frames [][]uint64 // [interface][sample]
	bytes  [][]uint64
}

func newCounterSamples(ifaces int) *counterSamples {
	c := &counterSamples{period: samplePeriod, frames: make([][]uint64, ifaces), bytes: make([][]uint64, ifaces)}
	return c
}

// add keeps a sample taken at t (since the start), its counters per
// interface since the start.
func (c *counterSamples) add(t time.Duration, frames, bytes []uint64) {
	if len(c.t) == MaxSamples {
		keep := func(s []uint64) []uint64 {
			for i := range len(s) / 2 {
				s[i] = s[2*i]
			}
			return s[:len(s)/2]
		}
		for i := range len(c.t) / 2 {
			c.t[i] = c.t[2*i]
		}
		c.t = c.t[:len(c.t)/2]
		for i := range c.frames {
			c.frames[i], c.bytes[i] = keep(c.frames[i]), keep(c.bytes[i])
		}
		c.period *= 2
	}
	c.t = append(c.t, t)
	for i := range c.frames {
		c.frames[i] = append(c.frames[i], frames[i])
		c.bytes[i] = append(c.bytes[i], bytes[i])
	}
}

// wire is the samples as rates, interface i named names[i]. The first
// sample, at the start, is the origin of the counts.
func (c *counterSamples) wire(names []string) []WireSeries {
	out := make([]WireSeries, len(names))
	for k, name := range names {
		w := WireSeries{Interface: name, T: []float64{}, FramesPerS: []float64{}, GbitPerS: []float64{}}
		for i := 1; i < len(c.t); i++ {
			dt := (c.t[i] - c.t[i-1]).Seconds()
			if dt <= 0 {
				continue
			}
			w.T = append(w.T, c.t[i].Seconds())
			w.FramesPerS = append(w.FramesPerS, float64(c.frames[k][i]-c.frames[k][i-1])/dt)
			w.GbitPerS = append(w.GbitPerS, float64(c.bytes[k][i]-c.bytes[k][i-1])*8/dt/1e9)
		}
		out[k] = w
	}
	return out
}
