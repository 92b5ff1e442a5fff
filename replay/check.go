package replay

import "fmt"

// IfaceCheck is what an interface's own tx counters say of the frames a
// replay sent through it, from best to worst. In JSON and text it is the
// word of its String.
type IfaceCheck uint8

// Interface checks.
const (
	// IfaceUnchecked: the counters were not compared (the replay failed).
	IfaceUnchecked IfaceCheck = iota
	// IfaceOK ("ok"): the interface counted at least as many frames.
	IfaceOK
	// IfaceWhole ("whole"): it counted the super-packets: the device takes
	// GSO frames as they are, like a veth or a NIC with TSO.
	IfaceWhole
	// IfaceShort ("short"): frames are missing (see IfaceTxDropped).
	IfaceShort
)

var ifaceCheckWords = [...]string{IfaceUnchecked: "", IfaceOK: "ok", IfaceWhole: "whole", IfaceShort: "short"}

func (c IfaceCheck) String() string {
	if int(c) < len(ifaceCheckWords) {
		return ifaceCheckWords[c]
	}
	return fmt.Sprintf("IfaceCheck(%d)", uint8(c))
}

// MarshalText writes the word.
func (c IfaceCheck) MarshalText() ([]byte, error) {
	if int(c) >= len(ifaceCheckWords) {
		return nil, fmt.Errorf("replay: no interface check %d", uint8(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText reads the word.
func (c *IfaceCheck) UnmarshalText(b []byte) error {
	for i, w := range ifaceCheckWords {
		if w == string(b) {
			*c = IfaceCheck(i)
			return nil
		}
	}
	return fmt.Errorf("replay: unknown interface check %q", b)
}
