package probe

import "slices"

// sameRuns reports whether GRO handed up the expected packets: the same
// frame counts in order, or in any order where the case allows it.
func sameRuns(obs, expect []int, anyOrder bool) bool {
	if !anyOrder {
		return slices.Equal(obs, expect)
	}
	a, b := slices.Clone(obs), slices.Clone(expect)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// timingMayExplain reports whether packets other than the expected could
// come from timing alone: a NAPI poll that ended while the frames were
// still being sent hands up what GRO holds, and GRO starts afresh with the
// next frame, so the cuts move (a packet cut early can let the next one
// take frames a size limit would have left out). Every frame still arrives
// once, in packets that segment. A frame lost or a packet GRO built that
// does not segment is never timing.
func timingMayExplain(obs, expect []int) bool {
	return len(obs) > 0 && sum(obs) == sum(expect) && !slices.ContainsFunc(obs, func(n int) bool { return n < 1 })
}

func sum(v []int) int {
	n := 0
	for _, x := range v {
		n += x
	}
	return n
}
