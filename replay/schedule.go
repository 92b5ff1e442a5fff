package replay

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Pacing says how fast to send.
type Pacing struct {
	// Multiplier scales the capture's timing (2 = twice as fast). It is the
	// default mode, with 1.
	Multiplier float64
	// PPS sends this many frames (on the wire, after segmentation) per second.
	PPS float64
	// Mbps sends this many megabits of frames per second.
	Mbps float64
	// Topspeed sends as fast as the socket takes them.
	Topspeed bool
	// PPSMulti, with PPS, sends frames in groups of this many, each group
	// due at once (tcpreplay's --pps-multi): longer, more accurate waits
	// at high rates. 0 and 1 are frame by frame.
	PPSMulti int
	// MaxSleep, with original timing or a multiplier, caps every pause
	// between items of the capture at this long (tcpreplay's --maxsleep);
	// what comes after a shortened pause moves up with it, so that only
	// the long pauses shrink.
	MaxSleep time.Duration
}

// Pacing errors.
var (
	// ErrPacingModes: more than one of Multiplier (other than 1), PPS, Mbps
	// and Topspeed.
	ErrPacingModes = errors.New("choose one pacing mode: Multiplier, PPS, Mbps or Topspeed")
	// ErrNegativeRate: a negative multiplier or rate.
	ErrNegativeRate = errors.New("rates must be positive")
)

// Validate reports a contradictory (ErrPacingModes) or out-of-range
// (ErrNegativeRate) pacing.
func (p Pacing) Validate() error {
	modes := 0
	if p.PPS != 0 {
		modes++
	}
	if p.Mbps != 0 {
		modes++
	}
	if p.Topspeed {
		modes++
	}
	if p.Multiplier != 0 && p.Multiplier != 1 {
		modes++
	}
	switch {
	case modes > 1:
		return ErrPacingModes
	case p.Multiplier < 0 || p.PPS < 0 || p.Mbps < 0 || p.PPSMulti < 0 || p.MaxSleep < 0:
		return ErrNegativeRate
	}
	return nil
}

// schedule computes when each item is due. Times are anchored to the start
// of the replay and to the first packet, never to the previous send, so
// errors do not accumulate over a long replay.
type schedule struct {
	p      Pacing
	start  time.Time // wall clock at the first item
	first  time.Time // capture time of the first item of this loop
	offset time.Duration
	// frames and bytes due before the current item, of every schedule
	// sharing the count (Share): pps and Mbps hold for them all.
	count *sharedCount
	last  time.Duration // offset of the latest item, for loops
	prev  time.Duration // offset of the previous item, for MaxSleep
	begun bool
	// hold: even at top speed nothing is due before start (a start time
	// set in advance).
	hold bool
	// lazy: start is when the first item of any schedule sharing the
	// count is due (Lazy), not when the schedule was made.
	lazy, anchored bool
	shifted        time.Duration // Shift's, before the anchor
}

// sharedCount is what rate pacing has let through so far: frames and bytes on
// the wire. Schedules of several pipelines share one (Share), so that
// --pps and --mbps hold for the sum of them, whatever each one sends.
type sharedCount struct {
	frames, bytes atomic.Int64
	origin        time.Time // the first item's wall time (Lazy)
	once          sync.Once
}

// newSchedule starts a schedule at wall time start.
func newSchedule(p Pacing, start time.Time) *schedule {
	if p.Multiplier == 0 {
		p.Multiplier = 1
	}
	return &schedule{p: p, start: start, count: &sharedCount{}}
}

// Share makes s count its rate with c, which other schedules share.
func (s *schedule) Share(c *sharedCount) { s.count = c }

// Lazy anchors the schedule when the first item of any schedule sharing
// its count asks when it is due, rather than at its start: a pipeline
// that needs a while to read its first batch does not start late and
// then rush the items it owes.
func (s *schedule) Lazy() { s.lazy = true }

func (s *schedule) anchor() {
	s.anchored = true
	s.count.once.Do(func() { s.count.origin = time.Now() })
	s.start = s.count.origin.Add(s.shifted)
}

// Due returns the wall time at which an item captured at ts, that puts
// frames frames and bytes bytes on the wire, must be sent. Items come in
// capture order.
func (s *schedule) Due(ts time.Time, frames int, bytes int) time.Time {
	if s.lazy && !s.anchored {
		s.anchor()
	}
	switch {
	case s.p.Topspeed:
		if s.hold {
			return s.start
		}
		return time.Time{}
	case s.p.PPS > 0:
		before := s.count.frames.Add(int64(frames)) - int64(frames)
		if m := int64(s.p.PPSMulti); m > 1 {
			before -= before % m // the group's first frame
		}
		return s.start.Add(time.Duration(float64(before) / s.p.PPS * float64(time.Second)))
	case s.p.Mbps > 0:
		before := s.count.bytes.Add(int64(bytes)) - int64(bytes)
		return s.start.Add(time.Duration(float64(before) * 8 / (s.p.Mbps * 1e6) * float64(time.Second)))
	}
	if !s.begun {
		s.begun, s.first = true, ts
		s.prev = s.offset
	}
	rel := ts.Sub(s.first)
	if rel < 0 {
		rel = 0 // capture out of order: send at once
	}
	at := s.offset + time.Duration(float64(rel)/s.p.Multiplier)
	if m := s.p.MaxSleep; m > 0 && at-s.prev > m {
		s.offset -= at - s.prev - m
		at = s.prev + m
	}
	s.prev = max(s.prev, at)
	if at > s.last {
		s.last = at
	}
	return s.start.Add(at)
}

// Begin anchors original timing at the capture time first (the first
// packet of the pass), rather than at the first item Due sees: shards of
// one capture share one clock that way.
func (s *schedule) Begin(first time.Time) {
	s.begun, s.first = true, first
}

// Shift moves everything not yet due d later (a pause between loops).
func (s *schedule) Shift(d time.Duration) { s.start, s.shifted = s.start.Add(d), s.shifted+d }

// Last is the offset from the start at which the latest item so far is due.
func (s *schedule) Last() time.Duration { return s.last }

// NextLoop continues the schedule for another pass over the capture: the
// first packet of the pass is due right after the last of this one.
func (s *schedule) NextLoop() { s.NextLoopAt(s.last) }

// NextLoopAt continues the schedule for another pass that starts at offset
// from the start (shards: the latest Last of them all).
func (s *schedule) NextLoopAt(offset time.Duration) {
	s.offset, s.last = offset, max(s.last, offset)
	s.begun = false
}
