package gso

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Type is a virtio_net_hdr gso_type (VIRTIO_NET_HDR_GSO_*), possibly with
// the ECN bit.
type Type uint8

// GSO types.
const (
	None  Type = 0
	TCPv4 Type = 1
	UDP   Type = 3 // UFO: IPv4 fragmentation of one UDP datagram
	TCPv6 Type = 4
	UDPL4 Type = 5 // USO: one UDP datagram per segment
	ECN   Type = 0x80
)

// Base is the type without the ECN bit.
func (t Type) Base() Type { return t &^ ECN }

var typeNames = map[Type]string{None: "none", TCPv4: "tcpv4", UDP: "udp", TCPv6: "tcpv6", UDPL4: "udp_l4"}

// String names the type the way the comment syntax writes it ("tcpv4",
// "udp_l4+ecn", or the number for undefined types).
func (t Type) String() string {
	name, ok := typeNames[t.Base()]
	if !ok {
		name = strconv.Itoa(int(t.Base()))
	}
	if t&ECN != 0 {
		name += "+ecn"
	}
	return name
}

// ParseType reads what String writes.
func ParseType(v string) (Type, error) {
	var t Type
	if base, ok := strings.CutSuffix(v, "+ecn"); ok {
		t, v = ECN, base
	}
	for k, name := range typeNames {
		if name == v {
			return t | k, nil
		}
	}
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown gso type %q", v)
	}
	return t | Type(n), nil
}

// Flags are the virtio_net_hdr flags (VIRTIO_NET_HDR_F_*).
type Flags uint8

// Flags.
const (
	NeedsCsum     Flags = 1
	DataValid     Flags = 2
	RSCInfo       Flags = 4
	UDPTunnelCsum Flags = 8
)

var flagNames = [...]string{"needs_csum", "data_valid", "rsc_info", "udp_tunnel_csum"}

// String is "none" or a |-list of flag names, unknown bits as 0x...
func (f Flags) String() string { return string(f.Append(nil)) }

// Append appends String's text to dst without allocating.
func (f Flags) Append(dst []byte) []byte {
	if f == 0 {
		return append(dst, "none"...)
	}
	first := true
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if !first {
				dst = append(dst, '|')
			}
			dst = append(dst, n...)
			first = false
		}
	}
	if rest := f &^ 0x0f; rest != 0 {
		if !first {
			dst = append(dst, '|')
		}
		dst = append(dst, "0x"...)
		dst = strconv.AppendUint(dst, uint64(rest), 16)
	}
	return dst
}

// ParseFlags reads what String writes ("0" is also none).
func ParseFlags(v string) (Flags, error) {
	if v == "none" || v == "0" {
		return 0, nil
	}
	var f Flags
	for _, p := range strings.Split(v, "|") {
		known := false
		for i, n := range flagNames {
			if p == n {
				f, known = f|1<<i, true
			}
		}
		if known {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(p, "0x"), 16, 8)
		if err != nil || !strings.HasPrefix(p, "0x") {
			return 0, fmt.Errorf("unknown flag %q", p)
		}
		f |= Flags(n)
	}
	return f, nil
}

// VnetHeader is the value of a virtio_net_hdr (header.VirtioNetHdr is its
// wire form). Offsets count from the first byte of the frame.
type VnetHeader struct {
	Flags      Flags
	GSOType    Type
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
}

// VnetHeaderLen is the size of the header on the wire.
const VnetHeaderLen = header.VirtioNetHdrSize

// Encode writes h into b (at least VnetHeaderLen bytes).
func (h VnetHeader) Encode(b []byte) {
	header.VirtioNetHdr(b).Encode(&header.VirtioNetHdrFields{
		Flags: uint8(h.Flags), GSOType: uint8(h.GSOType), HdrLen: h.HdrLen,
		GSOSize: h.GSOSize, CsumStart: h.CsumStart, CsumOffset: h.CsumOffset,
	})
}

// DecodeVnetHeader reads a header written by Encode.
func DecodeVnetHeader(b []byte) (VnetHeader, error) {
	v := header.VirtioNetHdr(b)
	if !v.IsValid() {
		return VnetHeader{}, fmt.Errorf("virtio_net_hdr needs %d bytes, have %d", VnetHeaderLen, len(b))
	}
	return VnetHeader{
		Flags: Flags(v.Flags()), GSOType: Type(v.GSOType()), HdrLen: v.HdrLen(),
		GSOSize: v.GSOSize(), CsumStart: v.CsumStart(), CsumOffset: v.CsumOffset(),
	}, nil
}
