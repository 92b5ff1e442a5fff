package rewrite

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gsoreplay/gsoreplay/coalesce"
)

// Dir is a packet's side: Primary (client to server in tcpprep's terms,
// tcprewrite's default) or Secondary.
type Dir uint8

const (
	Primary Dir = iota
	Secondary
)

// MAC is an Ethernet address; Set says it was given.
type MAC struct {
	Addr [6]byte
	Set  bool
}

// CIDRMap maps addresses in From onto To: the network bits become To's,
// the host bits stay (tcprewrite's pseudo-NAT).
type CIDRMap struct{ From, To netip.Prefix }

// PortMap maps ports Lo..Hi onto To.
type PortMap struct{ Lo, Hi, To uint16 }

// TTLMode says how the TTL / hop limit changes (tcprewrite's --ttl).
type TTLMode uint8

const (
	TTLKeep TTLMode = iota
	TTLSet
	TTLAdd
	TTLSub
)

// VLANMode is what becomes of 802.1Q tags (tcprewrite's --enet-vlan).
type VLANMode uint8

const (
	VLANKeep VLANMode = iota
	VLANAdd
	VLANDel
	VLANEdit
)

// Options are the edits, one field a tcprewrite option.
type Options struct {
	// DstMAC, SrcMAC: [Primary] and [Secondary] (--enet-dmac, --enet-smac).
	DstMAC, SrcMAC [2]MAC
	// PNAT[Primary] and PNAT[Secondary]: --pnat's lists; with one list
	// both sides use it.
	PNAT               [2][]CIDRMap
	SrcIPMap, DstIPMap []CIDRMap
	PortMap            []PortMap
	TTL                TTLMode
	TTLValue           uint8
	VLAN               VLANMode
	// VLANTag, VLANPri, VLANCFI: -1 keeps the frame's (edit) or means 0.
	VLANTag, VLANPri, VLANCFI int
	FixCsum                   bool
	// MTUTrunc cuts frames whose network layer is longer than MTU (1500
	// if 0) down to it, fixing the IP length (--mtu, --mtu-trunc). It edits
	// frames one at a time (PerFrame): they cannot merge.
	MTU      int
	MTUTrunc bool
}

// PerFrame reports whether the edits must see each frame on its own, not a
// super-packet standing for several (--mtu-trunc): replay then sends frame
// by frame.
func (o *Options) PerFrame() bool { return o.MTUTrunc }

// Empty reports whether the options change nothing.
func (o *Options) Empty() bool {
	return !o.DstMAC[0].Set && !o.DstMAC[1].Set && !o.SrcMAC[0].Set && !o.SrcMAC[1].Set &&
		len(o.PNAT[0]) == 0 && len(o.SrcIPMap) == 0 && len(o.DstIPMap) == 0 && len(o.PortMap) == 0 &&
		o.TTL == TTLKeep && o.VLAN == VLANKeep && !o.FixCsum && !o.MTUTrunc
}

// optionError is the error of the Parse functions and of Validate: a
// *coalesce.OptionError naming the field of Options and the value (a
// string quoted) it cannot take, as every options struct's errors do; a
// command line names its own flag instead.
func optionError(option string, value any, why string, args ...any) error {
	v := fmt.Sprint(value)
	if s, ok := value.(string); ok {
		v = strconv.Quote(s)
	}
	return &coalesce.OptionError{Option: option, Value: v, Want: fmt.Sprintf(why, args...)}
}

// ParseMACs reads "MAC" or "MAC1,MAC2" (either may be empty: ",MAC2") for
// the field option (DstMAC or SrcMAC), which its errors name.
func ParseMACs(option, s string) ([2]MAC, error) {
	var out [2]MAC
	parts := strings.Split(s, ",")
	if len(parts) > 2 {
		return out, optionError(option, s, "at most two MAC addresses, comma separated")
	}
	for i, p := range parts {
		if p == "" {
			continue
		}
		hw, err := net.ParseMAC(p)
		if err != nil || len(hw) != 6 {
			return out, optionError(option, s, "%q is not a MAC address (like 00:11:22:33:44:55)", p)
		}
		copy(out[i].Addr[:], hw)
		out[i].Set = true
	}
	if !out[0].Set && !out[1].Set {
		return out, optionError(option, s, "no MAC address")
	}
	return out, nil
}

// ParseCIDRMaps reads "FROM:TO,FROM:TO,..." with IPv6 prefixes in brackets
// ([2001:db8::/32]:[fd00::/16]), as tcprewrite writes them, for the field
// option (PNAT, SrcIPMap or DstIPMap), which its errors name.
func ParseCIDRMaps(option, s string) ([]CIDRMap, error) {
	var out []CIDRMap
	for _, pair := range splitTop(s, ',') {
		from, to, ok := cutTop(pair, ':')
		if !ok {
			return nil, optionError(option, s, "%q is not FROM:TO", pair)
		}
		f, err := parsePrefix(from)
		if err != nil {
			return nil, optionError(option, s, "%q: %v", from, err)
		}
		t, err := parsePrefix(to)
		if err != nil {
			return nil, optionError(option, s, "%q: %v", to, err)
		}
		if f.Addr().Is4() != t.Addr().Is4() {
			return nil, optionError(option, s, "%s and %s: one IPv4, one IPv6", f, t)
		}
		out = append(out, CIDRMap{From: f, To: t})
	}
	if len(out) == 0 {
		return nil, optionError(option, s, "no FROM:TO pair")
	}
	return out, nil
}

// parsePrefix reads a prefix, bracketed or not; an address alone is a host.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not an address or CIDR block")
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not a CIDR block (like 10.0.0.0/8 or [2001:db8::/32])")
	}
	return p, nil
}

// splitTop splits s at sep outside brackets.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// cutTop cuts s at the first sep outside brackets.
func cutTop(s string, sep byte) (string, string, bool) {
	parts := splitTop(s, sep)
	if len(parts) != 2 {
		// IPv4 maps have exactly one colon; bracketed IPv6 too.
		return "", "", false
	}
	return parts[0], parts[1], true
}

// ParsePortMaps reads "FROM:TO,..." where FROM is a port, a range LO-HI or
// a list of ports joined by commas before the colon ("8000,8080:80"), for
// PortMap.
func ParsePortMaps(s string) ([]PortMap, error) {
	var out []PortMap
	var pending []PortMap // ports listed before their ":TO"
	for _, item := range strings.Split(s, ",") {
		from, to, hasTo := strings.Cut(item, ":")
		lo, hi, err := portRange(from)
		if err != nil {
			return nil, optionError("PortMap", s, "%q: %v", from, err)
		}
		pending = append(pending, PortMap{Lo: lo, Hi: hi})
		if !hasTo {
			continue
		}
		t, err := strconv.ParseUint(to, 10, 16)
		if err != nil || t == 0 {
			return nil, optionError("PortMap", s, "%q is not a port 1-65535", to)
		}
		for _, p := range pending {
			p.To = uint16(t)
			out = append(out, p)
		}
		pending = pending[:0]
	}
	if len(pending) > 0 || len(out) == 0 {
		return nil, optionError("PortMap", s, "want FROM:TO pairs (80:8080, 8000-8999:80, 8000,8080:80)")
	}
	return out, nil
}

func portRange(s string) (uint16, uint16, error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.ParseUint(a, 10, 16)
	if err != nil || lo == 0 {
		return 0, 0, errors.New("not a port 1-65535")
	}
	hi := lo
	if isRange {
		if hi, err = strconv.ParseUint(b, 10, 16); err != nil || hi < lo {
			return 0, 0, errors.New("not a range LO-HI of ports")
		}
	}
	return uint16(lo), uint16(hi), nil
}

// ParseTTL reads TTL and TTLValue as tcprewrite's --ttl gives them: N
// sets, +N adds, -N subtracts (results kept in 1..255).
func ParseTTL(s string) (TTLMode, uint8, error) {
	mode := TTLSet
	v := s
	switch {
	case strings.HasPrefix(s, "+"):
		mode, v = TTLAdd, s[1:]
	case strings.HasPrefix(s, "-"):
		mode, v = TTLSub, s[1:]
	}
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil || n == 0 && mode != TTLSet {
		return 0, 0, optionError("TTL", s, "want N, +N or -N with N in 0..255")
	}
	return mode, uint8(n), nil
}

// ParseVLANMode reads VLAN as tcprewrite's --enet-vlan gives it: add, del
// or edit.
func ParseVLANMode(s string) (VLANMode, error) {
	switch s {
	case "add":
		return VLANAdd, nil
	case "del":
		return VLANDel, nil
	case "edit":
		return VLANEdit, nil
	}
	return 0, optionError("VLAN", s, "want add, del or edit")
}

// Validate checks the combination, as tcprewrite does: a VLANTag with
// VLANAdd (for untagged frames), the ranges of tag, priority, CFI and MTU,
// PNAT without SrcIPMap or DstIPMap. Its error is a *coalesce.OptionError
// naming the field; New cannot fail on options Validate accepts.
func (o *Options) Validate() error {
	if o.VLAN == VLANAdd && o.VLANTag < 0 {
		return optionError("VLANTag", o.VLANTag, "VLANAdd needs a tag, 0..4095")
	}
	if o.VLANTag > 4095 {
		return optionError("VLANTag", o.VLANTag, "want 0..4095")
	}
	if o.VLANPri > 7 {
		return optionError("VLANPri", o.VLANPri, "want 0..7")
	}
	if o.VLANCFI > 1 {
		return optionError("VLANCFI", o.VLANCFI, "want 0 or 1")
	}
	if o.MTU < 0 || o.MTU > 65535 || o.MTUTrunc && o.MTU != 0 && o.MTU < 68 {
		return optionError("MTU", o.MTU, "want 68..65535")
	}
	if len(o.PNAT[0]) > 0 && (len(o.SrcIPMap) > 0 || len(o.DstIPMap) > 0) {
		return optionError("PNAT", o.PNAT[0], "cannot be combined with SrcIPMap or DstIPMap (as in tcprewrite)")
	}
	return nil
}

// Warning is something the options do that was likely not meant: Option
// names the field, Text what it does.
type Warning struct{ Option, Text string }

func (w Warning) String() string { return w.Option + ": " + w.Text }

// Warnings lists maps that overlap (the first match wins, as in tcprewrite).
func (o *Options) Warnings() []Warning {
	var out []Warning
	overlap := func(option string, a, b any) {
		out = append(out, Warning{option, fmt.Sprintf("%v and %v overlap; the first listed wins", a, b)})
	}
	check := func(option string, maps []CIDRMap) {
		for i := range maps {
			for j := i + 1; j < len(maps); j++ {
				if maps[i].From.Overlaps(maps[j].From) {
					overlap(option, maps[i].From, maps[j].From)
				}
			}
		}
	}
	check("PNAT", o.PNAT[0])
	if len(o.PNAT[1]) > 0 {
		check("PNAT", o.PNAT[1])
	}
	check("SrcIPMap", o.SrcIPMap)
	check("DstIPMap", o.DstIPMap)
	for i := range o.PortMap {
		for j := i + 1; j < len(o.PortMap); j++ {
			a, b := o.PortMap[i], o.PortMap[j]
			if a.Lo <= b.Hi && b.Lo <= a.Hi {
				overlap("PortMap", fmt.Sprintf("%d-%d", a.Lo, a.Hi), fmt.Sprintf("%d-%d", b.Lo, b.Hi))
			}
		}
	}
	return out
}
