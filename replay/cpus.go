package replay

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gsoreplay/gsoreplay/coalesce"
)

// ParseCPUs reads a CPU list for Options.CPUs as taskset and /sys write
// them: CPU numbers and ranges joined by commas ("0,2,4-7"), each below
// MaxCPU; "" is none (nil). The error is a *coalesce.OptionError naming
// CPUs and the list.
func ParseCPUs(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= MaxCPU {
			return nil, &coalesce.OptionError{Option: "CPUs", Value: fmt.Sprintf("%q", s), Want: "want CPU numbers and ranges such as 0,2,4-7"}
		}
		for cpu := a; cpu <= b; cpu++ {
			out = append(out, cpu)
		}
	}
	return out, nil
}
