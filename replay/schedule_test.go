package replay

import (
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	start := time.Unix(5000, 0)
	ts := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	cases := []struct {
		name  string
		p     Pacing
		items []time.Time
		want  []time.Duration
	}{
		{"original", Pacing{}, []time.Time{ts(0), ts(10), ts(25)}, []time.Duration{0, 10 * time.Millisecond, 25 * time.Millisecond}},
		{"twice as fast", Pacing{Multiplier: 2}, []time.Time{ts(0), ts(10), ts(25)}, []time.Duration{0, 5 * time.Millisecond, 12500 * time.Microsecond}},
		{"1000 pps, 10 frames each", Pacing{PPS: 1000}, []time.Time{ts(0), ts(0), ts(0)}, []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond}},
		{"8 Mbps, 1000 bytes each", Pacing{Mbps: 8}, []time.Time{ts(0), ts(0), ts(0)}, []time.Duration{0, time.Millisecond, 2 * time.Millisecond}},
		// Groups of 25 frames: items of 10 frames start at frames 0, 10,
		// 20, 30, 40; their groups at 0, 0, 0, 25, 25.
		{"1000 pps in groups of 25", Pacing{PPS: 1000, PPSMulti: 25}, []time.Time{ts(0), ts(0), ts(0), ts(0), ts(0)},
			[]time.Duration{0, 0, 0, 25 * time.Millisecond, 25 * time.Millisecond}},
		// A 5 s pause shortened to 100 ms, the rest moved up with it.
		{"maxsleep 100 ms", Pacing{MaxSleep: 100 * time.Millisecond}, []time.Time{ts(0), ts(10), ts(5010), ts(5030), ts(5080)},
			[]time.Duration{0, 10 * time.Millisecond, 110 * time.Millisecond, 130 * time.Millisecond, 180 * time.Millisecond}},
		{"maxsleep twice as fast", Pacing{Multiplier: 2, MaxSleep: 100 * time.Millisecond}, []time.Time{ts(0), ts(1000), ts(1100)},
			[]time.Duration{0, 100 * time.Millisecond, 150 * time.Millisecond}},
	}
	for _, tc := range cases {
		s := newSchedule(tc.p, start)
		for i, it := range tc.items {
			if got := s.Due(it, 10, 1000).Sub(start); got != tc.want[i] {
				t.Errorf("%s: item %d due at +%v, want +%v", tc.name, i, got, tc.want[i])
			}
		}
	}
	s := newSchedule(Pacing{Topspeed: true}, start)
	if !s.Due(ts(5), 1, 1).IsZero() {
		t.Errorf("topspeed: a due time")
	}
}

// TestScheduleNoDrift: a long replay's times stay anchored: the millionth
// packet of a 1 µs-spaced capture is due exactly 1 s after the first.
func TestScheduleNoDrift(t *testing.T) {
	t0, start := time.Unix(1000, 0), time.Unix(5000, 0)
	s := newSchedule(Pacing{Multiplier: 1}, start)
	var last time.Time
	for i := range 1_000_001 {
		last = s.Due(t0.Add(time.Duration(i)*time.Microsecond), 1, 100)
	}
	if d := last.Sub(start); d != time.Second {
		t.Fatalf("due at %v, want 1s", d)
	}
	s.NextLoop()
	if d := s.Due(t0, 1, 100).Sub(start); d != time.Second {
		t.Errorf("second loop starts at %v, want right after the first (1s)", d)
	}
}

func TestPacingValidate(t *testing.T) {
	if (Pacing{PPS: 10, Topspeed: true}).Validate() == nil {
		t.Error("pps and topspeed together accepted")
	}
	if (Pacing{Multiplier: 2}).Validate() != nil {
		t.Error("multiplier refused")
	}
}

// TestScheduleLazy: lazy schedules sharing a count start when the first
// item of any of them asks, not when they were made, and a pause between
// passes taken before a schedule's first item still counts for it.
func TestScheduleLazy(t *testing.T) {
	made := time.Now().Add(-time.Hour) // long before the first item
	var count sharedCount
	a, b := newSchedule(Pacing{PPS: 1000}, made), newSchedule(Pacing{PPS: 1000}, made)
	for _, s := range []*schedule{a, b} {
		s.Share(&count)
		s.Lazy()
	}
	b.Shift(time.Second) // b's shard had no item in the first pass
	before := time.Now()
	first := a.Due(time.Time{}, 10, 0)
	after := time.Now()
	if first.Before(before) || first.After(after) {
		t.Fatalf("first item due at %v, want between %v and %v", first, before, after)
	}
	if got := b.Due(time.Time{}, 10, 0).Sub(first); got != time.Second+10*time.Millisecond {
		t.Errorf("b's first item due %v after a's, want 1.01 s (its pause, then 10 frames at 1000 pps)", got)
	}
	if got := a.Due(time.Time{}, 10, 0).Sub(first); got != 20*time.Millisecond {
		t.Errorf("a's second item due %v after its first, want 20 ms", got)
	}
}
