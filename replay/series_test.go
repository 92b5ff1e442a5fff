package replay

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestLagRecorder: the bins and the histogram against the same items
// binned here, by the width a run of that length must end with.
func TestLagRecorder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		span  time.Duration // items due over [0, span)
		items int
	}{
		{"one bin", 500 * time.Microsecond, 10},
		{"1 ms bins", 300 * time.Millisecond, 2000},
		{"coarsened twice", 1500 * time.Millisecond, 5000},
		{"an hour", time.Hour, 20000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			r := newLagRecorder()
			type item struct{ at, lag time.Duration }
			var items []item
			var last time.Duration
			for range tc.items {
				it := item{time.Duration(rng.Int64N(int64(tc.span))), time.Duration(rng.Int64N(int64(3*time.Millisecond))) - time.Microsecond}
				items = append(items, it)
				last = max(last, it.at)
				r.add(it.at, it.lag)
			}
			width := time.Millisecond
			for int(last/width) >= MaxErrorBins {
				width *= 2
			}
			type bin struct {
				n           int64
				sum, lo, hi time.Duration
			}
			want := map[int]*bin{}
			hist := map[string]int64{}
			for _, it := range items {
				i := int(it.at / width)
				b := want[i]
				if b == nil {
					b = &bin{lo: it.lag, hi: it.lag}
					want[i] = b
				}
				b.n++
				b.sum += it.lag
				b.lo, b.hi = min(b.lo, it.lag), max(b.hi, it.lag)
				switch {
				case it.lag < 0:
					hist["early"]++
				case it.lag < time.Microsecond:
					hist["0–1µs"]++
				case it.lag < 2*time.Microsecond:
					hist["1µs–2µs"]++
				case it.lag < 5*time.Microsecond:
					hist["2µs–5µs"]++
				case it.lag < 10*time.Microsecond:
					hist["5µs–10µs"]++
				case it.lag < 20*time.Microsecond:
					hist["10µs–20µs"]++
				case it.lag < 50*time.Microsecond:
					hist["20µs–50µs"]++
				case it.lag < 100*time.Microsecond:
					hist["50µs–100µs"]++
				case it.lag < 200*time.Microsecond:
					hist["100µs–200µs"]++
				case it.lag < 500*time.Microsecond:
					hist["200µs–500µs"]++
				case it.lag < time.Millisecond:
					hist["500µs–1ms"]++
				case it.lag < 2*time.Millisecond:
					hist["1ms–2ms"]++
				default:
					hist["2ms–5ms"]++
				}
			}
			e := r.series()
			if e.BinS != width.Seconds() || e.Sends != int64(len(items)) || len(e.T) != len(want) {
				t.Fatalf("bins of %v s, %d sends, %d bins; want %v, %d, %d", e.BinS, e.Sends, len(e.T), width.Seconds(), len(items), len(want))
			}
			for k, ts := range e.T {
				i := int(time.Duration(ts*1e9+0.5) / width)
				b := want[i]
				if b == nil || e.Count[k] != b.n || e.MinUS[k] != float64(b.lo)/1e3 || e.MaxUS[k] != float64(b.hi)/1e3 || e.MeanUS[k] != float64(b.sum)/float64(b.n)/1e3 {
					t.Fatalf("bin at %v s: %d, %v..%v mean %v; want %+v", ts, e.Count[k], e.MinUS[k], e.MaxUS[k], e.MeanUS[k], b)
				}
			}
			var total int64
			for _, h := range e.Histogram {
				if h.Count != hist[h.Label] {
					t.Errorf("%s: %d, want %d", h.Label, h.Count, hist[h.Label])
				}
				total += h.Count
			}
			if total != int64(len(items)) || e.Histogram[0].Count == 0 || e.Histogram[len(e.Histogram)-1].Count == 0 {
				t.Errorf("histogram %v: not every item, or not trimmed to the buckets that count", e.Histogram)
			}
		})
	}
}

// TestLagMerge: two pipelines' recorders merged equal one that saw every
// item, whatever width each had reached.
func TestLagMerge(t *testing.T) {
	a, b, all := newLagRecorder(), newLagRecorder(), newLagRecorder()
	for i := range 3000 {
		at, lag := time.Duration(i)*time.Millisecond/4, time.Duration(i%97)*time.Microsecond
		all.add(at, lag)
		a.add(at, lag)
	}
	for i := range 500 {
		at, lag := time.Duration(i)*3*time.Millisecond, time.Duration(i%13)*time.Millisecond
		all.add(at, lag)
		b.add(at, lag)
	}
	a.merge(b)
	if !reflect.DeepEqual(a.series(), all.series()) {
		t.Errorf("merged:\n%+v\none recorder:\n%+v", a.series(), all.series())
	}
	if newLagRecorder().series() != nil {
		t.Error("no sends: want no series")
	}
}

// TestCounterSamples: however many samples, at most MaxSamples are kept,
// the first and the last among them, and the rates between them are
// exact: counters that grow at 100k frames/s read 100k frames/s.
func TestCounterSamples(t *testing.T) {
	for _, n := range []int{1, 2, 100, MaxSamples, MaxSamples + 1, 10 * MaxSamples} {
		c := newCounterSamples(2)
		for i := range n {
			at := time.Duration(i) * 10 * time.Millisecond
			ms := uint64(at / time.Millisecond)
			c.add(at, []uint64{100 * ms, 3 * ms}, []uint64{150000 * ms, 4500 * ms})
		}
		if len(c.t) > MaxSamples || c.t[0] != 0 || c.t[len(c.t)-1] != time.Duration(n-1)*10*time.Millisecond {
			t.Fatalf("%d samples: kept %d, from %v to %v", n, len(c.t), c.t[0], c.t[len(c.t)-1])
		}
		w := c.wire([]string{"a", "b"})
		if len(w) != 2 || len(w[0].T) != len(c.t)-1 {
			t.Fatalf("%d samples: %d rates of %d samples", n, len(w[0].T), len(c.t))
		}
		for i := range w[0].T {
			if !near(w[0].FramesPerS[i], 100000) || !near(w[0].GbitPerS[i], 1.2) || !near(w[1].FramesPerS[i], 3000) {
				t.Fatalf("%d samples: rate %d: %v frames/s, %v Gbit/s", n, i, w[0].FramesPerS[i], w[0].GbitPerS[i])
			}
		}
	}
}

func near(a, b float64) bool { return a > b*0.999999 && a < b*1.000001 }

// FuzzLagRecorder: any items, in any order: every one counted once, each
// bin's least <= mean <= most.
func FuzzLagRecorder(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newLagRecorder()
		n := 0
		for ; len(b) >= 4; b = b[4:] {
			at := time.Duration(int64(b[0])<<24|int64(b[1])<<16) * time.Microsecond
			lag := time.Duration(int16(uint16(b[2])<<8|uint16(b[3]))) * time.Microsecond
			r.add(at, lag)
			n++
		}
		e := r.series()
		if n == 0 {
			if e != nil {
				t.Fatal("a series of nothing")
			}
			return
		}
		var c, h int64
		for i := range e.T {
			c += e.Count[i]
			if e.MinUS[i] > e.MeanUS[i]+1e-9 || e.MeanUS[i] > e.MaxUS[i]+1e-9 {
				t.Fatalf("bin %d: %v %v %v", i, e.MinUS[i], e.MeanUS[i], e.MaxUS[i])
			}
		}
		for _, x := range e.Histogram {
			h += x.Count
		}
		if c != int64(n) || h != int64(n) || e.Sends != int64(n) || len(e.T) > MaxErrorBins {
			t.Fatalf("%d items: bins count %d, histogram %d, %d bins", n, c, h, len(e.T))
		}
	})
}
