package verify

import (
	"testing"
	"time"

	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/replay/compare"
)

// TestCrossOrder: frames of one connection captured on two interfaces,
// merged by their timestamps, must come in the expected order; one frame
// moved counts.
func TestCrossOrder(t *testing.T) {
	fwd := craft.Packets(craft.Flow(craft.TCPBulk(), 3, nil))
	back := craft.TCPBulk()
	back.Swap = true
	back.Sport, back.Dport = back.Dport, back.Sport
	rev := craft.Packets(craft.Flow(back, 2, nil))
	// The connection's order: f0 r0 f1 r1 f2; f on one interface, r on
	// the other.
	exp := []compare.Expected{{Data: fwd[0].Data}, {Data: rev[0].Data}, {Data: fwd[1].Data}, {Data: rev[1].Data}, {Data: fwd[2].Data}}
	t0 := time.Unix(1, 0)
	ts := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Microsecond) }
	got := [][]byte{fwd[0].Data, fwd[1].Data, fwd[2].Data}
	got2 := [][]byte{rev[0].Data, rev[1].Data}
	if n := crossOrder(exp, got, []time.Time{ts(0), ts(2), ts(4)}, got2, []time.Time{ts(1), ts(3)}); n != 0 {
		t.Fatalf("in order: %d counted", n)
	}
	// r1 seen after f2: two frames stand elsewhere.
	if n := crossOrder(exp, got, []time.Time{ts(0), ts(2), ts(4)}, got2, []time.Time{ts(1), ts(5)}); n != 2 {
		t.Fatalf("r1 late: %d counted, want 2", n)
	}
}

// crossOrder runs a crossRecorder over the expected frames and the two
// rings' captures.
func crossOrder(expected []compare.Expected, got [][]byte, times []time.Time, got2 [][]byte, times2 []time.Time) int {
	r := newCrossRecorder()
	for _, e := range expected {
		r.expect(e.Data)
	}
	for i := range got {
		r.got(0, got[i], times[i])
	}
	for i := range got2 {
		r.got(1, got2[i], times2[i])
	}
	return r.reordered()
}
