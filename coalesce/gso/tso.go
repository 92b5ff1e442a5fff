package gso

import (
	"fmt"

	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Offsets locate the headers of a TCP frame: network header, TCP header and
// the end of the TCP header, counted from the first byte of the frame.
// In a UDP tunnel (VXLAN, GENEVE) they are the inner packet's, and Outer
// locates the outer headers (zero: no tunnel).
type Offsets struct {
	L3, L4, HdrEnd int
	V6             bool
	Outer          Outer
}

// Outer locates the outer IP and UDP headers of a UDP tunnel packet; L4
// is 0 for a packet in no tunnel.
type Outer struct {
	L3, L4 int
	V6     bool
}

// BuildTSO turns a TCP super-frame captured whole on a TSO/GRO host into
// what AF_PACKET needs to segment it with gsoSize: IP lengths of the whole
// (0 above 65535), IPv4 header checksum, the pseudo-header checksum seed,
// and the virtio header. It works in place and returns the header and the
// number of segments the kernel will make. With o.Outer it is a tunnel
// super-packet (FinishTunnel), which a tap takes and a packet socket does not.
func BuildTSO(frame []byte, o Offsets, gsoSize int) (VnetHeader, int, error) {
	payload := len(frame) - o.HdrEnd
	if gsoSize < MinTCPSize || gsoSize > 0xfffe {
		return VnetHeader{}, 0, fmt.Errorf("gso_size %d out of range", gsoSize)
	}
	if payload <= gsoSize {
		return VnetHeader{}, 0, fmt.Errorf("payload %d fits one segment of %d", payload, gsoSize)
	}
	if o.V6 {
		header.IPv6(frame[o.L3:]).SetPayloadLength(LenOrZero(len(frame) - o.L3 - header.IPv6MinimumSize))
	} else {
		ip := header.IPv4(frame[o.L3:o.L4])
		ip.SetTotalLength(LenOrZero(len(frame) - o.L3))
		ip.UpdateChecksum()
	}
	l4 := frame[o.L4:]
	SeedChecksum(frame[o.L3:o.L4], o.V6, header.ProtoTCP, l4, uint32(len(l4)))
	h := VnetHeader{Flags: NeedsCsum, GSOType: TCPv4, GSOSize: uint16(gsoSize), HdrLen: uint16(o.HdrEnd),
		CsumStart: uint16(o.L4), CsumOffset: header.TCPChecksumOffset}
	if o.V6 {
		h.GSOType = TCPv6
	}
	if o.Outer.L4 != 0 {
		h = FinishTunnel(frame, len(frame), o.Outer, o.L3, h)
	}
	return h, (payload + gsoSize - 1) / gsoSize, nil
}

// FinishTunnel makes a frame of size bytes, whose inner packet at innerL3
// is a super-packet with header h, a UDP tunnel super-packet, as
// virtio_net_hdr_tnl_to_skb and skb_udp_tunnel_segment expect it: the
// outer IP and UDP lengths of the whole (0 above 65535), the outer IPv4
// header checksum, the outer UDP checksum seeded where the frame has one
// (UDPTunnelCsum; a zero one is copied into every segment), and the tunnel
// type and offsets in h. hdr holds the frame's headers at least.
func FinishTunnel(hdr []byte, size int, o Outer, innerL3 int, h VnetHeader) VnetHeader {
	if o.V6 {
		header.IPv6(hdr[o.L3:]).SetPayloadLength(LenOrZero(size - o.L3 - header.IPv6MinimumSize))
		h.GSOType |= UDPTunnel6
	} else {
		ip := header.IPv4(hdr[o.L3:o.L4])
		ip.SetTotalLength(LenOrZero(size - o.L3))
		ip.UpdateChecksum()
		h.GSOType |= UDPTunnel4
	}
	uh := header.UDP(hdr[o.L4:])
	// The seed counts the whole length, as __skb_udp_tunnel_segment
	// takes skb->len off it.
	ulen := size - o.L4
	uh.SetLength(LenOrZero(ulen))
	if uh.Checksum() != 0 {
		h.Flags |= UDPTunnelCsum
		SeedChecksum(hdr[o.L3:o.L4], o.V6, header.ProtoUDP, uh, uint32(ulen))
	}
	h.OuterTH, h.InnerNH = uint16(o.L4), uint16(innerL3)
	return h
}

// SeedChecksum writes into a super-packet's TCP or UDP header the folded
// pseudo-header sum over l4len bytes that NEEDS_CSUM requires, and returns it.
func SeedChecksum(ip []byte, v6 bool, proto uint8, l4 []byte, l4len uint32) uint16 {
	c := header.Fold(header.PseudoHeaderSum(addresses(ip, v6), proto, l4len))
	off := header.ChecksumOffset(proto)
	l4[off], l4[off+1] = byte(c>>8), byte(c)
	return c
}
