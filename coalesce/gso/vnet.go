package gso

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
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
	// UDPTunnel4 and UDPTunnel6 (VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4/6, Linux
	// 6.17+) are or'ed with the inner type (TCPv4, TCPv6 or UDPL4): the
	// frame is a UDP tunnel packet (VXLAN, GENEVE) over IPv4 or IPv6 whose
	// inner packet is segmented, every segment getting the outer headers.
	// Only the 24-byte header (VnetTunnelHeaderLen) carries the offsets
	// this needs, so only a tap takes it, not a packet socket.
	UDPTunnel4 Type = 0x20
	UDPTunnel6 Type = 0x40
)

// Base is the inner type: without the ECN and tunnel bits.
func (t Type) Base() Type { return t &^ (ECN | UDPTunnel4 | UDPTunnel6) }

// Tunnel is the type's tunnel bits (0, UDPTunnel4, UDPTunnel6, or both,
// which the kernel refuses).
func (t Type) Tunnel() Type { return t & (UDPTunnel4 | UDPTunnel6) }

var typeNames = map[Type]string{None: "none", TCPv4: "tcpv4", UDP: "udp", TCPv6: "tcpv6", UDPL4: "udp_l4"}

var tunnelNames = [...]struct {
	t    Type
	name string
}{{UDPTunnel4, "udp_tunnel_ipv4+"}, {UDPTunnel6, "udp_tunnel_ipv6+"}}

// String names the type the way the comment syntax writes it ("tcpv4",
// "udp_l4+ecn", "udp_tunnel_ipv4+tcpv6", or the number for undefined
// types).
func (t Type) String() string {
	name, ok := typeNames[t.Base()]
	if !ok {
		name = strconv.Itoa(int(t.Base()))
	}
	// In ParseType's order: both bits (invalid, but written) read back.
	for i := len(tunnelNames) - 1; i >= 0; i-- {
		if t&tunnelNames[i].t != 0 {
			name = tunnelNames[i].name + name
		}
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
	for _, tn := range tunnelNames {
		if rest, ok := strings.CutPrefix(v, tn.name); ok {
			t, v = t|tn.t, rest
		}
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

// VnetHeader is struct virtio_net_hdr (include/uapi/linux/virtio_net.h),
// the legacy header without num_buffers that comes before a frame on a
// packet socket with PACKET_VNET_HDR or a tap with IFF_VNET_HDR, and the
// two offsets of struct virtio_net_hdr_v1_hash_tunnel that a UDP tunnel
// super-packet needs. It is the one form of the header here: decoded, with
// typed flags and gso_type; Encode and DecodeVnetHeader convert it to and
// from its VnetHeaderLen bytes, EncodeTunnel and DecodeVnetTunnelHeader to
// and from the VnetTunnelHeaderLen bytes a tap takes. Offsets count from
// the first byte of the frame.
type VnetHeader struct {
	Flags      Flags
	GSOType    Type
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
	// OuterTH and InnerNH are outer_th_offset and inner_nh_offset: where
	// the outer UDP header and the inner network header begin (0 unless
	// GSOType has a tunnel bit).
	OuterTH uint16
	InnerNH uint16
}

// Sizes of the header on the wire: the legacy header, and
// virtio_net_hdr_v1_hash_tunnel (the legacy header, num_buffers,
// hash_value, hash_report, padding, outer_th_offset, inner_nh_offset).
const (
	VnetHeaderLen       = 10
	VnetTunnelHeaderLen = 24
	vnetOuterTH         = 20 // offset of outer_th_offset
)

// Encode writes h into b (at least VnetHeaderLen bytes). The integers are
// little endian whatever the host, as packet sockets use them on x86 and
// arm64.
func (h VnetHeader) Encode(b []byte) {
	_ = b[VnetHeaderLen-1] // one bounds check
	le := binary.LittleEndian
	b[0], b[1] = uint8(h.Flags), uint8(h.GSOType)
	le.PutUint16(b[2:4], h.HdrLen)
	le.PutUint16(b[4:6], h.GSOSize)
	le.PutUint16(b[6:8], h.CsumStart)
	le.PutUint16(b[8:10], h.CsumOffset)
}

// EncodeTunnel writes h as virtio_net_hdr_v1_hash_tunnel into b (at least
// VnetTunnelHeaderLen bytes): num_buffers and the hash fields 0.
func (h VnetHeader) EncodeTunnel(b []byte) {
	_ = b[VnetTunnelHeaderLen-1]
	h.Encode(b)
	clear(b[VnetHeaderLen:vnetOuterTH])
	le := binary.LittleEndian
	le.PutUint16(b[vnetOuterTH:], h.OuterTH)
	le.PutUint16(b[vnetOuterTH+2:], h.InnerNH)
}

// DecodeVnetTunnelHeader reads a header written by EncodeTunnel from the
// first VnetTunnelHeaderLen bytes of b.
func DecodeVnetTunnelHeader(b []byte) (VnetHeader, error) {
	if len(b) < VnetTunnelHeaderLen {
		return VnetHeader{}, fmt.Errorf("virtio_net_hdr_v1_hash_tunnel needs %d bytes, have %d", VnetTunnelHeaderLen, len(b))
	}
	h, _ := DecodeVnetHeader(b)
	le := binary.LittleEndian
	h.OuterTH, h.InnerNH = le.Uint16(b[vnetOuterTH:]), le.Uint16(b[vnetOuterTH+2:])
	return h, nil
}

// DecodeVnet reads a header of len(b) bytes as a packet socket or tap
// holds it: the tunnel header when it has VnetTunnelHeaderLen bytes or
// more, else the legacy one (a 12-byte header's num_buffers is not read).
func DecodeVnet(b []byte) (VnetHeader, error) {
	if len(b) >= VnetTunnelHeaderLen {
		return DecodeVnetTunnelHeader(b)
	}
	return DecodeVnetHeader(b)
}

// DecodeVnetHeader reads a header written by Encode from the first
// VnetHeaderLen bytes of b.
func DecodeVnetHeader(b []byte) (VnetHeader, error) {
	if len(b) < VnetHeaderLen {
		return VnetHeader{}, fmt.Errorf("virtio_net_hdr needs %d bytes, have %d", VnetHeaderLen, len(b))
	}
	le := binary.LittleEndian
	return VnetHeader{
		Flags: Flags(b[0]), GSOType: Type(b[1]), HdrLen: le.Uint16(b[2:4]),
		GSOSize: le.Uint16(b[4:6]), CsumStart: le.Uint16(b[6:8]), CsumOffset: le.Uint16(b[8:10]),
	}, nil
}
