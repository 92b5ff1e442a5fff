package replay_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/replay"
)

// TestParseCPUs: lists as taskset and /sys write them, the CPUs written out
// by hand; and what is refused, with the message the CLI's --cpus shows.
func TestParseCPUs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"", nil},
		{"0", []int{0}},
		{"3", []int{3}},
		{"0,2", []int{0, 2}},
		{"0-3", []int{0, 1, 2, 3}},
		{"0,2,4-7", []int{0, 2, 4, 5, 6, 7}},
		{"5-5", []int{5}},
		{"7,1", []int{7, 1}}, // in the order given
		{"1,1", []int{1, 1}},
		{"1020-1023", []int{1020, 1021, 1022, 1023}}, // MaxCPU is 1024
	} {
		got, err := replay.ParseCPUs(tc.in)
		if err != nil || !slices.Equal(got, tc.want) || (tc.want == nil) != (got == nil) {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"x", "1-x", "3-1", "-1", "1-", "-", ",", "0,", ",0", "0,,1", " 1", "1 ", "1.5", "0-1-2", "1024", "0-1024", "99999999999999999999"} {
		got, err := replay.ParseCPUs(in)
		var oe *coalesce.OptionError
		if !errors.As(err, &oe) || got != nil {
			t.Errorf("%q: %v, %v; want a *coalesce.OptionError", in, got, err)
			continue
		}
		if want := `CPUs "` + in + `": want CPU numbers and ranges such as 0,2,4-7`; oe.Option != "CPUs" || oe.Error() != want {
			t.Errorf("%q: %q, want %q", in, oe.Error(), want)
		}
	}
}
