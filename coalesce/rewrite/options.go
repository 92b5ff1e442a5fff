package rewrite

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
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

// TTLMode says how --ttl changes the TTL / hop limit.
type TTLMode uint8

const (
	TTLKeep TTLMode = iota
	TTLSet
	TTLAdd
	TTLSub
)

// VLANMode is --enet-vlan.
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

// FlagError names the option and the value it could not take.
type FlagError struct {
	Flag, Value, Why string
}

func (e *FlagError) Error() string { return fmt.Sprintf("--%s %q: %s", e.Flag, e.Value, e.Why) }

func flagErr(flag, value, why string, args ...any) error {
	return &FlagError{Flag: flag, Value: value, Why: fmt.Sprintf(why, args...)}
}

// ParseMACs reads "MAC" or "MAC1,MAC2" (either may be empty: ",MAC2").
func ParseMACs(flag, s string) ([2]MAC, error) {
	var out [2]MAC
	parts := strings.Split(s, ",")
	if len(parts) > 2 {
		return out, flagErr(flag, s, "at most two MAC addresses, comma separated")
	}
	for i, p := range parts {
		if p == "" {
			continue
		}
		hw, err := net.ParseMAC(p)
		if err != nil || len(hw) != 6 {
			return out, flagErr(flag, s, "%q is not a MAC address (like 00:11:22:33:44:55)", p)
		}
		copy(out[i].Addr[:], hw)
		out[i].Set = true
	}
	if !out[0].Set && !out[1].Set {
		return out, flagErr(flag, s, "no MAC address")
	}
	return out, nil
}

// ParseCIDRMaps reads "FROM:TO,FROM:TO,..." with IPv6 prefixes in brackets
// ([2001:db8::/32]:[fd00::/16]), as tcprewrite writes them.
func ParseCIDRMaps(flag, s string) ([]CIDRMap, error) {
	var out []CIDRMap
	for _, pair := range splitTop(s, ',') {
		from, to, ok := cutTop(pair, ':')
		if !ok {
			return nil, flagErr(flag, s, "%q is not FROM:TO", pair)
		}
		f, err := parsePrefix(from)
		if err != nil {
			return nil, flagErr(flag, s, "%q: %v", from, err)
		}
		t, err := parsePrefix(to)
		if err != nil {
			return nil, flagErr(flag, s, "%q: %v", to, err)
		}
		if f.Addr().Is4() != t.Addr().Is4() {
			return nil, flagErr(flag, s, "%s and %s: one IPv4, one IPv6", f, t)
		}
		out = append(out, CIDRMap{From: f, To: t})
	}
	if len(out) == 0 {
		return nil, flagErr(flag, s, "no FROM:TO pair")
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
// a list of ports joined by commas before the colon ("8000,8080:80").
func ParsePortMaps(flag, s string) ([]PortMap, error) {
	var out []PortMap
	var pending []PortMap // ports listed before their ":TO"
	for _, item := range strings.Split(s, ",") {
		from, to, hasTo := strings.Cut(item, ":")
		lo, hi, err := portRange(from)
		if err != nil {
			return nil, flagErr(flag, s, "%q: %v", from, err)
		}
		pending = append(pending, PortMap{Lo: lo, Hi: hi})
		if !hasTo {
			continue
		}
		t, err := strconv.ParseUint(to, 10, 16)
		if err != nil || t == 0 {
			return nil, flagErr(flag, s, "%q is not a port 1-65535", to)
		}
		for _, p := range pending {
			p.To = uint16(t)
			out = append(out, p)
		}
		pending = pending[:0]
	}
	if len(pending) > 0 || len(out) == 0 {
		return nil, flagErr(flag, s, "want FROM:TO pairs (80:8080, 8000-8999:80, 8000,8080:80)")
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

// ParseTTL reads --ttl: N sets, +N adds, -N subtracts (results kept in
// 1..255).
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
		return 0, 0, flagErr("ttl", s, "want N, +N or -N with N in 0..255")
	}
	return mode, uint8(n), nil
}

// ParseVLANMode reads --enet-vlan.
func ParseVLANMode(s string) (VLANMode, error) {
	switch s {
	case "add":
		return VLANAdd, nil
	case "del":
		return VLANDel, nil
	case "edit":
		return VLANEdit, nil
	}
	return 0, flagErr("enet-vlan", s, "want add, del or edit")
}

// Validate checks the combination, as tcprewrite does: --enet-vlan-tag
// with add on untagged frames, the ranges of tag, priority and CFI.
func (o *Options) Validate() error {
	if o.VLAN == VLANAdd && o.VLANTag < 0 {
		return flagErr("enet-vlan-tag", "", "--enet-vlan add needs a tag")
	}
	if o.VLANTag > 4095 {
		return flagErr("enet-vlan-tag", strconv.Itoa(o.VLANTag), "want 0..4095")
	}
	if o.VLANPri > 7 {
		return flagErr("enet-vlan-pri", strconv.Itoa(o.VLANPri), "want 0..7")
	}
	if o.VLANCFI > 1 {
		return flagErr("enet-vlan-cfi", strconv.Itoa(o.VLANCFI), "want 0 or 1")
	}
	if o.MTU < 0 || o.MTU > 65535 || o.MTUTrunc && o.MTU != 0 && o.MTU < 68 {
		return flagErr("mtu", strconv.Itoa(o.MTU), "want 68..65535")
	}
	if len(o.PNAT[0]) > 0 && (len(o.SrcIPMap) > 0 || len(o.DstIPMap) > 0) {
		return flagErr("pnat", "", "cannot be combined with --srcipmap or --dstipmap (as in tcprewrite)")
	}
	return nil
}

// Warnings lists maps that overlap (the first match wins, as in tcprewrite).
func (o *Options) Warnings() []string {
	var out []string
	check := func(name string, maps []CIDRMap) {
		for i := range maps {
			for j := i + 1; j < len(maps); j++ {
				if maps[i].From.Overlaps(maps[j].From) {
					out = append(out, fmt.Sprintf("--%s: %s and %s overlap; the first listed wins", name, maps[i].From, maps[j].From))
				}
			}
		}
	}
	check("pnat", o.PNAT[0])
	if len(o.PNAT[1]) > 0 {
		check("pnat", o.PNAT[1])
	}
	check("srcipmap", o.SrcIPMap)
	check("dstipmap", o.DstIPMap)
	for i := range o.PortMap {
		for j := i + 1; j < len(o.PortMap); j++ {
			a, b := o.PortMap[i], o.PortMap[j]
			if a.Lo <= b.Hi && b.Lo <= a.Hi {
				out = append(out, fmt.Sprintf("--portmap: %d-%d and %d-%d overlap; the first listed wins", a.Lo, a.Hi, b.Lo, b.Hi))
			}
		}
	}
	return out
}
