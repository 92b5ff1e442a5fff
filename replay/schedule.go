package replay

import (
	"errors"
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
	case p.Multiplier < 0 || p.PPS < 0 || p.Mbps < 0:
		return ErrNegativeRate
	}
	return nil
}

// Schedule computes when each item is due. Times are anchored to the start
// of the replay and to the first packet, never to the previous send, so
// errors do not accumulate over a long replay.
type Schedule struct {
	p      Pacing
	start  time.Time // wall clock at the first item
	first  time.Time // capture time of the first item of this loop
	offset time.Duration
	frames int64 // frames due before the current item
	bits   float64
	last   time.Duration // offset of the latest item, for loops
	begun  bool
}

// NewSchedule starts a schedule at wall time start.
func NewSchedule(p Pacing, start time.Time) *Schedule {
	if p.Multiplier == 0 {
		p.Multiplier = 1
	}
	return &Schedule{p: p, start: start}
}

// Due returns the wall time at which an item captured at ts, that puts
// frames frames and bytes bytes on the wire, must be sent. Items come in
// capture order.
func (s *Schedule) Due(ts time.Time, frames int, bytes int) time.Time {
	defer func() {
		s.frames += int64(frames)
		s.bits += float64(bytes) * 8
	}()
	switch {
	case s.p.Topspeed:
		return time.Time{}
	case s.p.PPS > 0:
		return s.start.Add(time.Duration(float64(s.frames) / s.p.PPS * float64(time.Second)))
	case s.p.Mbps > 0:
		return s.start.Add(time.Duration(s.bits / (s.p.Mbps * 1e6) * float64(time.Second)))
	}
	if !s.begun {
		s.begun, s.first = true, ts
	}
	rel := ts.Sub(s.first)
	if rel < 0 {
		rel = 0 // capture out of order: send at once
	}
	at := s.offset + time.Duration(float64(rel)/s.p.Multiplier)
	if at > s.last {
		s.last = at
	}
	return s.start.Add(at)
}

// NextLoop continues the schedule for another pass over the capture: the
// first packet of the pass is due right after the last of this one.
func (s *Schedule) NextLoop() {
	s.offset = s.last
	s.begun = false
}
