package replay

import (
	"sync"
	"time"
)

// sampler reads the interfaces' counters during a run (Series.Wire), on a
// goroutine of its own, every period of its samples.
type sampler struct {
	read    func(frames, bytes []uint64) error // counters since the replay began
	samples *counterSamples
	start   time.Time
	done    chan struct{}
	wg      sync.WaitGroup
	err     error
}

func newSampler(ifaces int, read func(frames, bytes []uint64) error) *sampler {
	return &sampler{read: read, samples: newCounterSamples(ifaces), done: make(chan struct{})}
}

// begin samples from start until end: the first sample now, as the
// origin (nothing is sent before start), the next ones a period apart
// from start — never at the instant a start time set in advance lets the
// first frames go.
func (s *sampler) begin(start time.Time) {
	if s == nil {
		return
	}
	s.start = start
	frames, bytes := make([]uint64, len(s.samples.frames)), make([]uint64, len(s.samples.frames))
	if !s.take(frames, bytes) {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case <-s.done:
				return
			case <-time.After(time.Until(s.start.Add(s.samples.t[len(s.samples.t)-1] + s.samples.period))):
			}
			if !s.take(frames, bytes) {
				return
			}
		}
	}()
}

// take reads one sample; false after an error.
func (s *sampler) take(frames, bytes []uint64) bool {
	t := time.Since(s.start)
	if len(s.samples.t) == 0 {
		t = 0 // the origin of the counts: the start, within microseconds
	}
	if s.err = s.read(frames, bytes); s.err != nil {
		return false
	}
	s.samples.add(max(t, 0), frames, bytes)
	return true
}

// end stops the sampling, takes the last sample, and says why sampling
// stopped early, if it did.
func (s *sampler) end() error {
	if s == nil {
		return nil
	}
	close(s.done)
	s.wg.Wait()
	if s.err != nil || s.start.IsZero() {
		return s.err
	}
	n := len(s.samples.frames)
	s.take(make([]uint64, n), make([]uint64, n))
	return s.err
}
