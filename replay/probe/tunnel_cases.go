package probe

import (
	"fmt"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// tunnelCases are the UDP tunnel cases, written to a tap with the 24-byte
// header (docs/kernel.md §2.10): VXLAN and GENEVE super-packets over IPv4
// and IPv6, inner TCP over IPv4 and IPv6 and inner UDP (USO), with the
// outer checksum and without, each segmented as the reference segmenter
// does; then virtio_net_hdr_tnl_to_skb's checks, each with its errno.
func tunnelCases(l *caseList) {
	add := func(name string, kind Kind, segs []craft.Frame, expect []Expectation, mut func(frame []byte, h *gso.VnetHeader) []byte) {
		o := coalesce.DefaultOptions()
		o.TunnelGSO = true
		merged := func(f []byte, h *gso.VnetHeader) []byte {
			if h.GSOType.Tunnel() == 0 && l.err == nil {
				l.err = fmt.Errorf("probe case %s: merged as %s, not in its tunnel", name, h.GSOType)
			}
			if mut != nil {
				return mut(f, h)
			}
			return f
		}
		if c := l.add(name, kind, segs, o, expect, merged); c != nil {
			c.TapHeader = gso.VnetTunnelHeaderLen
		}
	}
	vx := craft.TCPBulk()
	vx.Payload = craft.Payload(1398, 0) // 1500-byte outer packets
	vx.Tunnel = craft.VXLANTunnel()
	csum := vx
	csum.Tunnel.ZeroCsum = false
	in6 := vx
	in6.V6, in6.Payload = true, craft.Payload(1378, 0)
	out6 := vx
	out6.Tunnel.V6, out6.Tunnel.ZeroCsum, out6.Payload = true, false, craft.Payload(1378, 0)
	out6Zero := out6
	out6Zero.Tunnel.ZeroCsum = true
	both6 := out6
	both6.V6, both6.Payload = true, craft.Payload(1358, 0)
	gen := vx
	gen.Tunnel.Kind, gen.Tunnel.Options, gen.Payload = craft.Geneve, []byte{0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef}, craft.Payload(1390, 0)
	gen6 := gen
	gen6.Tunnel.V6, gen6.Tunnel.ZeroCsum, gen6.V6, gen6.Payload = true, false, true, craft.Payload(1350, 0)
	udp := craft.UDPBulk()
	udp.Tunnel = craft.VXLANTunnel()
	udp6 := udp
	udp6.Tunnel.V6, udp6.Tunnel.ZeroCsum, udp6.V6 = true, false, true
	seg := KindSegmentationTap
	for _, c := range []struct {
		name string
		base craft.Frame
		n    int
	}{
		{"vxlan v4/tcpv4", vx, 30},
		{"vxlan v4/tcpv4 outer checksum", csum, 30},
		{"vxlan v4/tcpv6", in6, 30},
		{"vxlan v6/tcpv4 outer checksum", out6, 30},
		{"vxlan v6/tcpv4 zero outer checksum", out6Zero, 30},
		{"vxlan v6/tcpv6 outer checksum", both6, 30},
		{"geneve v4/tcpv4 with options", gen, 30},
		{"geneve v6/tcpv6 with options, outer checksum", gen6, 30},
		{"vxlan v4/udp (uso)", udp, 40},
		{"vxlan v6/udpv6 (uso) outer checksum", udp6, 40},
	} {
		add(c.name, seg, craft.Flow(c.base, c.n, nil), accepted(c.n), nil)
	}
	add("vxlan v4/tcpv4 short last segment with PSH|FIN", seg, craft.Flow(csum, 10, func(k int, p *craft.Frame) {
		if k == 9 {
			p.Payload, p.Flags = craft.Payload(333, 9), p.Flags|craft.PSH|craft.FIN
		}
	}), accepted(10), nil)
	wrap := csum
	wrap.ID, wrap.Tunnel.ID = 0xfff0, 0xfff8
	add("vxlan v4/tcpv4 outer and inner IPv4 ID wrap-around", seg, craft.Flow(wrap, 30, nil), accepted(30), nil)
	add("vxlan v4/tcpv4 ECN", seg, craft.Flow(csum, 10, func(k int, p *craft.Frame) { p.Flags |= craft.ECE }), accepted(10),
		func(f []byte, h *gso.VnetHeader) []byte { h.GSOType |= gso.ECN; return f })

	// virtio_net_hdr_tnl_to_skb's checks, on 3 segments of 1000 bytes.
	base := csum
	base.Payload = craft.Payload(1000, 0)
	val := func(name string, expect []Expectation, mut func(frame []byte, h *gso.VnetHeader) []byte) {
		add(name, KindValidationTap, craft.Flow(base, 3, nil), expect, mut)
	}
	setType := func(t gso.Type) func([]byte, *gso.VnetHeader) []byte {
		return func(f []byte, h *gso.VnetHeader) []byte { h.GSOType = t; return f }
	}
	val("tunnel: both UDP tunnel bits", refused("EINVAL"), setType(gso.UDPTunnel4|gso.UDPTunnel6|gso.TCPv4))
	val("tunnel: inner gso_type NONE", refused("EINVAL"), setType(gso.UDPTunnel4))
	val("tunnel: inner gso_type UDP (UFO)", refused("EINVAL"), setType(gso.UDPTunnel4|gso.UDP))
	val("tunnel: inner TCPV6 on an inner IPv4 header", refused("EINVAL"), setType(gso.UDPTunnel4|gso.TCPv6))
	val("tunnel: UDP_TUNNEL_IPV6 on an outer IPv4 header", refused("EINVAL"), setType(gso.UDPTunnel6|gso.TCPv4))
	val("tunnel: no NEEDS_CSUM", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.Flags &^= gso.NeedsCsum; return f })
	val("tunnel: outer_th_offset inside the outer IP header", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.OuterTH -= 4; return f })
	val("tunnel: inner_nh_offset inside the outer UDP header", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.InnerNH = h.OuterTH + 4; return f })
	val("tunnel: csum_start inside the inner IP header", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.CsumStart = h.InnerNH + 12; return f })
	val("tunnel: inner csum_offset 6 with TCPV4", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.CsumOffset = 6; return f })
	val("tunnel: gso_size 0", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.GSOSize = 0; return f })
	// A tap negotiates the tunnel features, UDP_TUNNEL_CSUM's too, with
	// its header size (tun_vnet_hdr_guest_features): without the 24-byte
	// header there is neither, and the tunnel bits are refused.
	n := len(l.cases)
	val("tunnel: UDP_TUNNEL_CSUM, features not negotiated", refused("EINVAL"), nil)
	if len(l.cases) > n {
		l.cases[n].TapHeader = gso.VnetHeaderLen
	}
	// Outside a tunnel the flag means nothing: a plain TCP super-packet.
	plain := craft.TCPBulk()
	plain.Payload = craft.Payload(1000, 0)
	if c := l.add("UDP_TUNNEL_CSUM on a tcpv4 super-packet", KindValidationTap, craft.Flow(plain, 3, nil), coalesce.DefaultOptions(), accepted(3),
		func(f []byte, h *gso.VnetHeader) []byte { h.Flags |= gso.UDPTunnelCsum; return f }); c != nil {
		c.TapHeader = gso.VnetTunnelHeaderLen
	}
}

// tapDiffers are the validation cases a tap takes otherwise than the rule
// of tapValidation says, and why.
var tapDiffers = map[string]struct {
	expect []Expectation
	note   string
}{
	"gso_type NONE, frame above the MTU": {accepted(1),
		"a packet socket refuses it (EMSGSIZE); a tap's way out (tc mirred, dev_queue_xmit) checks no MTU, and the frame leaves whole"},
	"802.1Q without NEEDS_CSUM": {countOnly(3),
		"a packet socket refuses it (EINVAL: the flow dissector misreads the tag, docs/kernel.md §1.3); tun_get_user calls virtio_net_hdr_to_skb before the network header is set, that check does not run, and the kernel segments it"},
}

// tapValidation is a validation case written to a tap: tun_get_user makes
// the skb with virtio_net_hdr_to_skb's checks and answers EINVAL where they
// (or its own, on lengths) refuse it, as a packet socket does; what a
// packet socket refuses later, on its way out (ENOMEM, EMSGSIZE), a tap
// has accepted, and the egress drops it. tapDiffers has the exceptions.
func tapValidation(c Case) Case {
	c.Kind, c.TapHeader = KindValidationTap, gso.VnetHeaderLen
	if d, ok := tapDiffers[c.Name]; ok {
		c.Expect, c.Note = d.expect, d.note
		return c
	}
	c.Expect = append([]Expectation(nil), c.Expect...)
	for i := range c.Expect {
		if e := &c.Expect[i]; e.Outcome.Errno != "" && e.Outcome.Errno != "EINVAL" {
			c.Note = fmt.Sprintf("a packet socket's send fails with %s; a tap's write succeeds and the egress drops it", e.Outcome.Errno)
			e.Outcome = Outcome{Segments: 0}
		}
	}
	return c
}
