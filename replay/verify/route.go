package verify

import (
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Hop is what a router does to the frames it forwards, as verify
// --forward expects it: both MACs replaced (by its egress address and the
// next hop's), the IPv4 TTL lowered with the header checksum updated
// incrementally (ip_decrease_ttl), the IPv6 hop limit lowered, Ethernet
// padding dropped (ip_rcv and ipv6_rcv trim a packet to its IP length),
// and nothing else.
type Hop struct {
	Src, Dst [6]byte
	// MTU of the egress: a packet forwarded alone must fit (1500 if 0).
	MTU int
	// NAT, if set, is the router's address translation as the frames
	// must show it: addresses mapped, checksums updated incrementally
	// (RFC 1624), as nf_nat's l3proto and l4proto manip do.
	NAT *rewrite.Rewriter
}

// NotRouted names why a router does not forward a frame; "" forwards.
type NotRouted string

// Why a Linux router keeps a frame (ip_route_input_slow's martians,
// ip_forward, ip6_forward, ip6_mc_input).
const (
	Routed        NotRouted = ""
	NotIP         NotRouted = "not IP"
	VLANTagged    NotRouted = "802.1Q tagged (the router has no VLAN interface)"
	BadIPHeader   NotRouted = "IP header invalid (version, length or checksum)"
	TTLExpires    NotRouted = "TTL or hop limit 1 or less"
	NotUnicast    NotRouted = "multicast, broadcast or zero address"
	LoopbackAddr  NotRouted = "loopback address"
	LinkLocalIPv6 NotRouted = "IPv6 link-local address"
	LargerThanMTU NotRouted = "larger than the router's MTU"
)

// Route is the frame the router sends for frame (a copy in buf's space),
// or why it sends none.
func (h Hop) Route(buf, frame []byte) ([]byte, NotRouted) {
	eth := header.Ethernet(frame)
	if !eth.IsValid() {
		return nil, NotIP
	}
	mtu := h.MTU
	if mtu == 0 {
		mtu = 1500
	}
	var n int // the IP length
	switch t := eth.Type(); {
	case t.IsVLAN():
		return nil, VLANTagged
	case t == header.EtherTypeIPv4:
		ip := header.IPv4(frame[header.EthernetSize:])
		if !ip.IsValid() || !ip.IsChecksumValid() || int(ip.TotalLength()) < ip.HeaderLength() || int(ip.TotalLength()) > len(ip) {
			return nil, BadIPHeader
		}
		src, _ := netip.AddrFromSlice(ip.Source())
		dst, _ := netip.AddrFromSlice(ip.Destination())
		switch {
		case !unicast4(src) || !unicast4(dst):
			return nil, NotUnicast
		case src.IsLoopback() || dst.IsLoopback():
			return nil, LoopbackAddr
		case ip.TTL() <= 1:
			return nil, TTLExpires
		}
		n = int(ip.TotalLength())
	case t == header.EtherTypeIPv6:
		ip := header.IPv6(frame[header.EthernetSize:])
		if !ip.IsValid() || int(ip.PayloadLength())+header.IPv6MinimumSize > len(ip) {
			return nil, BadIPHeader
		}
		src, _ := netip.AddrFromSlice(ip.Source())
		dst, _ := netip.AddrFromSlice(ip.Destination())
		switch {
		case src.IsUnspecified() || src.IsMulticast() || dst.IsMulticast() || dst.IsUnspecified():
			return nil, NotUnicast
		case src.IsLoopback() || dst.IsLoopback():
			return nil, LoopbackAddr
		case src.IsLinkLocalUnicast() || dst.IsLinkLocalUnicast():
			return nil, LinkLocalIPv6
		case ip.HopLimit() <= 1:
			return nil, TTLExpires
		}
		n = int(ip.PayloadLength()) + header.IPv6MinimumSize
	default:
		return nil, NotIP
	}
	if n > mtu {
		return nil, LargerThanMTU
	}
	out := append(buf[:0], frame[:header.EthernetSize+n]...)
	copy(out[0:6], h.Dst[:])
	copy(out[6:12], h.Src[:])
	if eth.Type() == header.EtherTypeIPv4 {
		header.IPv4(out[header.EthernetSize:]).DecrementTTL()
	} else {
		ip := header.IPv6(out[header.EthernetSize:])
		ip.SetHopLimit(ip.HopLimit() - 1)
	}
	if h.NAT != nil {
		h.NAT.FrameInPlace(out, layers.LinkTypeEthernet, len(out), rewrite.Primary)
	}
	return out, Routed
}

// unicast4 reports an IPv4 address a router forwards to or from: not
// 0.0.0.0/8, multicast or the limited broadcast.
func unicast4(a netip.Addr) bool {
	b := a.As4()
	return b[0] != 0 && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}
