package compare

import (
	"bytes"
	"slices"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
)

// window is how far ahead in a flow's unmatched frames an identical one is
// looked for.
const window = 4096

// Matcher matches captured frames to expected ones as they come, so that
// neither list need be held whole: what it keeps is the expected frames
// not matched yet (those in flight, and any that never come) and the
// captured frames that matched none (kept to be paired at the end).
//
// Frames are grouped by flow (coalesce.FlowOf's identity; frames without
// one form a group of their own); within a flow, a captured frame matches
// the first identical unmatched expected frame among the next few
// thousand. A match behind one already made in its flow (or anywhere, in
// strict order) is reordered. Result pairs what is left, flow by flow, in
// order, as mismatches; the rest is missing or extra. A frame must be
// expected before it can be captured: an expectation comes before its
// send.
//
// A Matcher is not safe for concurrent use.
type Matcher struct {
	strict     bool
	res        Result
	flows      map[coalesce.Flow]*flowState
	nexp, ngot int
	globalLast int
	extras     map[coalesce.Flow][]captured
	// The flow looked up last: frames come in runs of one flow, and a
	// Flow compares faster than the map hashes it.
	lastKey  coalesce.Flow
	lastFlow *flowState
	// Pending is the bytes of the expected frames not matched yet.
	pending int64
	// Free, if set, is given each expected frame once it matched: the
	// Matcher keeps nothing of its Data, so the caller may reuse it.
	Free func(Expected)
}

// flowState is one flow's expected frames not matched yet, in order,
// from head on.
type flowState struct {
	pending []expectedAt
	head    int
	last    int // the position of the latest frame matched
}

// expectedAt is an expected frame and its position (from 0) among all.
type expectedAt struct {
	Expected
	pos int
}

// captured is a captured frame that matched nothing, and its position.
type captured struct {
	data []byte
	pos  int
}

// NewMatcher returns a Matcher; strict also checks the global order.
func NewMatcher(strict bool) *Matcher {
	return &Matcher{strict: strict, flows: map[coalesce.Flow]*flowState{}, extras: map[coalesce.Flow][]captured{},
		globalLast: -1, res: Result{NormalizedWhy: map[string]int{}}}
}

func flowKey(b []byte) coalesce.Flow {
	k, _ := coalesce.FlowOf(b, layers.LinkTypeEthernet, 0)
	return k
}

// flow is k's state, nil if k has none yet.
func (m *Matcher) flow(k coalesce.Flow) *flowState {
	if m.lastFlow != nil && k == m.lastKey {
		return m.lastFlow
	}
	f := m.flows[k]
	if f != nil {
		m.lastKey, m.lastFlow = k, f
	}
	return f
}

// Expect adds the next expected frame. The Matcher keeps e.Data until it
// is matched: the caller must not change it.
func (m *Matcher) Expect(e Expected) {
	k := flowKey(e.Data)
	f := m.flow(k)
	if f == nil {
		f = &flowState{last: -1}
		m.flows[k] = f
	}
	f.pending = append(f.pending, expectedAt{e, m.nexp})
	m.nexp++
	m.pending += int64(len(e.Data))
}

// Got matches the next captured frame. The Matcher keeps a copy of g only
// when it matches nothing; g may be reused after the call.
func (m *Matcher) Got(g []byte) {
	gi := m.ngot
	m.ngot++
	k := flowKey(g)
	f := m.flow(k)
	hit := -1
	if f != nil {
		for j, e := range f.pending[f.head:min(len(f.pending), f.head+window)] {
			if bytes.Equal(e.Data, g) {
				hit = f.head + j
				break
			}
		}
	}
	if hit < 0 {
		m.extras[k] = append(m.extras[k], captured{bytes.Clone(g), gi})
		return
	}
	e := f.pending[hit]
	m.pending -= int64(len(e.Data))
	if m.Free != nil {
		m.Free(e.Expected)
	}
	if hit == f.head {
		f.pending[hit] = expectedAt{} // the frame goes with the match
		f.head++
		if f.head == len(f.pending) {
			f.pending, f.head = f.pending[:0], 0
		} else if f.head >= 1024 && f.head*2 >= len(f.pending) {
			n := copy(f.pending, f.pending[f.head:])
			clear(f.pending[n:])
			f.pending, f.head = f.pending[:n], 0
		}
	} else {
		f.pending = slices.Delete(f.pending, hit, hit+1)
	}
	if e.pos < f.last || (m.strict && e.pos < m.globalLast) {
		m.res.Reordered++
		m.res.detail("frame %d of the output came out of order (expected position %d)", gi+1, e.pos+1)
	}
	f.last = max(f.last, e.pos)
	m.globalLast = max(m.globalLast, e.pos)
	if e.Normalized != "" {
		m.res.Normalized++
		m.res.NormalizedWhy[e.Normalized]++
	} else {
		m.res.Exact++
	}
}

// Own gives the caller back an expected frame it lent the Matcher (data,
// at position pos in Expect's order) if it has not matched yet: the
// Matcher keeps own(data) in its place, with no Tag. It reports whether the
// frame was still unmatched. A frame's flow is found again from data, and
// pos within the flow by binary search: a flow's unmatched frames stay in
// order.
func (m *Matcher) Own(data []byte, pos int, own func([]byte) []byte) bool {
	f := m.flow(flowKey(data))
	if f == nil {
		return false
	}
	left := f.pending[f.head:]
	i, ok := slices.BinarySearchFunc(left, pos, func(e expectedAt, pos int) int { return e.pos - pos })
	if !ok {
		return false
	}
	left[i].Data, left[i].Tag = own(left[i].Data), 0
	return true
}

// Pending is the bytes of expected frames not matched yet: what is in
// flight, and what never came.
func (m *Matcher) Pending() int64 { return m.pending }

// Latest is the position (Expect's order, from 0) of the latest expected
// frame matched so far; -1 before the first match. An unmatched frame
// before it is lost, changed or late.
func (m *Matcher) Latest() int { return m.globalLast }

// Counts are the frames expected and captured so far.
func (m *Matcher) Counts() (expected, captured int) { return m.nexp, m.ngot }

// Result pairs what is left and returns the classification. The Matcher
// is spent after it.
func (m *Matcher) Result() Result {
	res := m.res
	var left []expectedAt
	for _, f := range m.flows {
		left = append(left, f.pending[f.head:]...)
	}
	slices.SortFunc(left, func(a, b expectedAt) int { return a.pos - b.pos })
	for _, e := range left {
		k := flowKey(e.Data)
		if l := m.extras[k]; len(l) > 0 {
			g := l[0]
			m.extras[k] = l[1:]
			res.Mismatched++
			res.detail("%s at frame %d", Diff(e.Data, g.data), e.pos+1)
			res.MismatchedPairs = append(res.MismatchedPairs, [2][]byte{e.Data, g.data})
			continue
		}
		res.Missing++
		res.detail("frame %d missing (%s)", e.pos+1, Summary(e.Data))
	}
	for _, l := range m.extras {
		for _, g := range l {
			res.Extra++
			res.detail("extra frame %d in the output (%s)", g.pos+1, Summary(g.data))
		}
	}
	return res
}
