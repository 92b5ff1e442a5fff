package compare

import (
	"bytes"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
)

// The classification before the Matcher, frame lists held whole: the
// oracle TestMatcherAgrees compares the Matcher with.
type oldFlowState struct {
	pending []int // expected indices not yet matched, in order
	last    int   // highest expected index matched so far
}

// framesBefore is Frames as it was. Frames are grouped by
// flow (Describe's flow identity; frames without one form a group of their
// own); within a flow, the first identical unmatched frame matches. Frames
// left over are paired in order as mismatches, the rest are missing or
// extra. strict also checks the global order.
func framesBefore(exp []Expected, got [][]byte, strict bool) Result {
	res := Result{NormalizedWhy: map[string]int{}}
	flows := map[coalesce.Flow]*oldFlowState{}
	keyOf := func(b []byte) coalesce.Flow {
		k, _ := coalesce.FlowOf(b, layers.LinkTypeEthernet, 0)
		return k
	}
	for i := range exp {
		k := keyOf(exp[i].Data)
		f := flows[k]
		if f == nil {
			f = &oldFlowState{last: -1}
			flows[k] = f
		}
		f.pending = append(f.pending, i)
	}
	matched := make([]bool, len(exp))
	var extra []int // captured frames without an identical expected one
	globalLast := -1
	const window = 4096 // how far ahead in a flow an identical frame is looked for
	for gi, g := range got {
		f := flows[keyOf(g)]
		hit := -1
		if f != nil {
			for j, idx := range f.pending {
				if j >= window {
					break
				}
				if !matched[idx] && bytes.Equal(exp[idx].Data, g) {
					hit = j
					break
				}
			}
		}
		if hit < 0 {
			extra = append(extra, gi)
			continue
		}
		idx := f.pending[hit]
		f.pending = append(f.pending[:hit], f.pending[hit+1:]...)
		matched[idx] = true
		if idx < f.last || (strict && idx < globalLast) {
			res.Reordered++
			res.detail("frame %d of the output came out of order (expected position %d)", gi+1, idx+1)
		}
		f.last = max(f.last, idx)
		globalLast = max(globalLast, idx)
		if exp[idx].Normalized != "" {
			res.Normalized++
			res.NormalizedWhy[exp[idx].Normalized]++
		} else {
			res.Exact++
		}
	}
	// Pair what is left, flow by flow, in order.
	left := map[coalesce.Flow][]int{}
	for _, gi := range extra {
		k := keyOf(got[gi])
		left[k] = append(left[k], gi)
	}
	for i := range exp {
		if matched[i] {
			continue
		}
		k := keyOf(exp[i].Data)
		if l := left[k]; len(l) > 0 {
			gi := l[0]
			left[k] = l[1:]
			res.Mismatched++
			res.detail("%s at frame %d", Diff(exp[i].Data, got[gi]), i+1)
			res.MismatchedPairs = append(res.MismatchedPairs, [2][]byte{exp[i].Data, got[gi]})
			continue
		}
		res.Missing++
		res.detail("frame %d missing (%s)", i+1, Summary(exp[i].Data))
	}
	for _, l := range left {
		for _, gi := range l {
			res.Extra++
			res.detail("extra frame %d in the output (%s)", gi+1, Summary(got[gi]))
		}
	}
	return res
}

// TestMatcherAgrees: the streaming Matcher classifies as the whole-list
// comparison did, on crafted and random damage: frames changed, dropped,
// moved, duplicated and added, several flows, frames without a flow,
// strict and per-flow order.
func TestMatcherAgrees(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for round := range 400 {
		var exp []Expected
		seqs := map[uint16]uint32{}
		n := 5 + rng.Intn(200)
		for i := range n {
			sport := uint16(1 + rng.Intn(4))
			f := tcpFrame(sport, uint16(i), seqs[sport])
			seqs[sport] += 100
			if rng.Intn(20) == 0 {
				f[12], f[13] = 0x08, 0x06 // not IP: the flowless group
			}
			e := Expected{Data: f}
			if rng.Intn(10) == 0 {
				e.Normalized = "whole super-frame"
			}
			exp = append(exp, e)
		}
		var got [][]byte
		for _, e := range exp {
			g := bytes.Clone(e.Data)
			switch r := rng.Intn(40); {
			case r == 0: // dropped
				continue
			case r == 1: // changed
				g[18]++
			case r == 2: // duplicated
				got = append(got, bytes.Clone(g))
			case r == 3: // an extra frame of a flow expected or not
				got = append(got, tcpFrame(uint16(1+rng.Intn(6)), 0xffff, uint32(rng.Intn(1000))))
			}
			got = append(got, g)
		}
		for range rng.Intn(4) { // moved
			if len(got) > 2 {
				i, j := rng.Intn(len(got)), rng.Intn(len(got))
				got[i], got[j] = got[j], got[i]
			}
		}
		strict := round%2 == 1
		want := framesBefore(exp, got, strict)
		have := Frames(exp, got, strict)
		if !sameResult(want, have) {
			t.Fatalf("round %d (strict %v): before %s\nnow %s", round, strict, show(want), show(have))
		}
	}
}

// TestMatcherStreams: expectations interleaved with captures, each
// expected frame given before it is captured, classify as the whole lists
// do; matched frames leave the Matcher.
func TestMatcherStreams(t *testing.T) {
	var exp []Expected
	for i := range 5000 {
		exp = append(exp, Expected{Data: tcpFrame(uint16(1+i%3), uint16(i), uint32(i/3*100))})
	}
	got := make([][]byte, 0, len(exp))
	for i, e := range exp {
		if i%997 == 0 {
			continue // dropped
		}
		got = append(got, e.Data)
	}
	m := NewMatcher(false)
	sent := 0
	for i, g := range got {
		for sent < len(exp) && sent <= i+10 { // ten frames in flight
			m.Expect(exp[sent])
			sent++
		}
		m.Got(g)
		if p := m.Pending(); p > int64(20*len(g)) {
			t.Fatalf("after %d frames, %d bytes pending: matched frames are kept", i+1, p)
		}
	}
	for sent < len(exp) {
		m.Expect(exp[sent])
		sent++
	}
	if want, have := framesBefore(exp, got, false), m.Result(); !sameResult(want, have) {
		t.Fatalf("before %s\nnow %s", show(want), show(have))
	}
}

func sameResult(a, b Result) bool {
	if a.Exact != b.Exact || a.Normalized != b.Normalized || a.Mismatched != b.Mismatched || a.Missing != b.Missing ||
		a.Extra != b.Extra || a.Reordered != b.Reordered || len(a.MismatchedPairs) != len(b.MismatchedPairs) || fmt.Sprint(a.NormalizedWhy) != fmt.Sprint(b.NormalizedWhy) {
		return false
	}
	for i := range a.MismatchedPairs {
		if !bytes.Equal(a.MismatchedPairs[i][0], b.MismatchedPairs[i][0]) || !bytes.Equal(a.MismatchedPairs[i][1], b.MismatchedPairs[i][1]) {
			return false
		}
	}
	// Extras come out in a map's order: the details as a set.
	da, db := slices.Clone(a.Details), slices.Clone(b.Details)
	sort.Strings(da)
	sort.Strings(db)
	return len(a.Details) < MaxDetails && slices.Equal(da, db) || len(a.Details) == len(b.Details)
}

func show(r Result) string {
	return fmt.Sprintf("exact %d normalized %d mismatched %d missing %d extra %d reordered %d pairs %d details %q",
		r.Exact, r.Normalized, r.Mismatched, r.Missing, r.Extra, r.Reordered, len(r.MismatchedPairs), r.Details)
}

// TestMatcherLends: frames lent to the Matcher in a buffer that is
// overwritten after Own took back those still unmatched classify as the
// whole lists do (framesBefore on copies); Free gives back each matched
// frame's tag, Own reports only unmatched frames, and Latest the latest
// position matched.
func TestMatcherLends(t *testing.T) {
	var exp []Expected
	for i := range 3000 {
		exp = append(exp, Expected{Data: tcpFrame(uint16(1+i%4), uint16(i), uint32(i/4*100))})
	}
	var got [][]byte
	for i, e := range exp {
		switch {
		case i%101 == 0: // lost
		case i%211 == 0: // changed
			g := bytes.Clone(e.Data)
			g[len(g)-1] ^= 0xff
			got = append(got, g)
		default:
			got = append(got, e.Data)
		}
	}
	m := NewMatcher(false)
	freed := map[uint64]bool{}
	m.Free = func(e Expected) { freed[e.Tag] = true }
	// A "ring" of 64 frames: each frame lent from it, and taken back
	// before its slot is written again.
	const ring = 64
	slots := make([][]byte, ring)
	var lent []int // positions lent, not yet taken back
	owned := 0
	reclaim := func(upTo int) {
		for len(lent) > 0 && lent[0] < upTo {
			pos := lent[0]
			lent = lent[1:]
			if m.Own(slots[pos%ring], pos, bytes.Clone) {
				owned++
				if freed[uint64(pos+1)] {
					t.Fatalf("frame %d: Own took back a frame Free had given back", pos)
				}
			}
		}
	}
	sent, gi := 0, 0
	for sent < len(exp) || gi < len(got) {
		for sent < len(exp) && sent < gi+ring/2 {
			reclaim(sent - ring + 1)
			slots[sent%ring] = append(slots[sent%ring][:0], exp[sent].Data...)
			m.Expect(Expected{Data: slots[sent%ring], Tag: uint64(sent + 1)})
			lent = append(lent, sent)
			sent++
		}
		if gi < len(got) {
			m.Got(got[gi])
			gi++
		}
	}
	reclaim(len(exp))
	for i := range slots {
		for j := range slots[i] {
			slots[i][j] = 0xee // what the ring holds next
		}
	}
	if m.Latest() != len(exp)-1 {
		t.Errorf("Latest %d, want %d", m.Latest(), len(exp)-1)
	}
	want := framesBefore(exp, got, false)
	if owned != want.Missing+want.Mismatched || len(freed) != want.Exact {
		t.Errorf("%d taken back, %d freed: want %d and %d", owned, len(freed), want.Missing+want.Mismatched, want.Exact)
	}
	if have := m.Result(); !sameResult(want, have) {
		t.Fatalf("before %s\nnow %s", show(want), show(have))
	}
}
