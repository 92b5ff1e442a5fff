package probe

import (
	"errors"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
)

// TestTunnelCasesReference: the reference segmenter agrees with the tunnel
// cases' expectations, which this kernel's tap meets (TestProbe): it
// refuses (gso.ErrInvalid) every header the kernel answers EINVAL, and
// makes as many segments as the kernel must of every other.
func TestTunnelCasesReference(t *testing.T) {
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var s gso.Segmenter
	for _, c := range cases {
		if c.TapHeader != gso.VnetTunnelHeaderLen {
			continue
		}
		n++
		exp := c.Expect[0].Outcome
		segs, err := s.Segment(c.Frame, layers.LinkTypeEthernet, c.Vnet)
		switch {
		case exp.Errno == "EINVAL" && !errors.Is(err, gso.ErrInvalid):
			t.Errorf("%s: the kernel refuses it, the reference segmenter says %v", c.Name, err)
		case exp.Errno == "" && (err != nil || len(segs) != exp.Segments):
			t.Errorf("%s: %d segments (%v), the kernel makes %d", c.Name, len(segs), err, exp.Segments)
		}
	}
	if n < 25 {
		t.Errorf("only %d cases with the tunnel header", n)
	}
}
