package split

import "github.com/gsoreplay/gsoreplay/pcaps"

// Dual sends each packet by the interface of the capture it came from, as
// tcpreplay's --dualfile does: the packets of pcaps.Merge's first capture
// by the primary interface, those of its second by the secondary.
type Dual struct{}

// Side is the packet's Origin.
func (Dual) Side(p *pcaps.Packet, _ int64) (Side, bool) {
	if p.Origin == 1 {
		return Secondary, true
	}
	return Primary, true
}
