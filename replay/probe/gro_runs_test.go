package probe

import "testing"

func TestRuns(t *testing.T) {
	for _, tc := range []struct {
		obs, expect []int
		anyOrder    bool
		same, retry bool
	}{
		{obs: []int{3}, expect: []int{3}, same: true, retry: true},
		{obs: []int{46, 19}, expect: []int{65}, retry: true},   // seen in CI: the poll ended mid-send
		{obs: []int{63, 3}, expect: []int{65, 1}, retry: true}, // seen under load: the cut moved the size limit's
		{obs: []int{3}, expect: []int{1, 1, 1}, retry: true},
		{obs: []int{2, 1}, expect: []int{1, 2}, retry: true},
		{obs: []int{1, 2}, expect: []int{2, 1}, anyOrder: true, same: true, retry: true},
		{obs: []int{1, 1, 1}, expect: []int{2, 1}, anyOrder: true, retry: true},
		{obs: []int{1, 1}, expect: []int{3}},  // a frame missing
		{obs: []int{2, 2}, expect: []int{3}},  // one too many
		{obs: []int{-1, 4}, expect: []int{3}}, // a packet that would not segment
		{obs: nil, expect: []int{1}},          // nothing arrived
	} {
		if got := sameRuns(tc.obs, tc.expect, tc.anyOrder); got != tc.same {
			t.Errorf("sameRuns(%v, %v, %v) = %v", tc.obs, tc.expect, tc.anyOrder, got)
		}
		if got := timingMayExplain(tc.obs, tc.expect); got != tc.retry {
			t.Errorf("timingMayExplain(%v, %v) = %v", tc.obs, tc.expect, got)
		}
	}
}
