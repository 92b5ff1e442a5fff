package verify

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

var testHop = Hop{Src: [6]byte{2, 0, 0, 0, 0, 1}, Dst: [6]byte{2, 0, 0, 0, 0, 2}}

// TestRoute: what a router forwards and why it keeps the rest, with the
// routed frame checked by gopacket and craft's own checksum.
func TestRoute(t *testing.T) {
	v6 := craft.TCPBulk()
	v6.V6, v6.Payload = true, v6.Payload[:1428]
	for _, tc := range []struct {
		name string
		f    craft.Frame
		edit func([]byte)
		want NotRouted
	}{
		{"TCPv4", craft.TCPBulk(), nil, Routed},
		{"UDPv4", craft.UDPBulk(), nil, Routed},
		{"TCPv6", v6, nil, Routed},
		{"padded", func() craft.Frame { f := craft.TCPBulk(); f.Payload = f.Payload[:6]; f.Padding = 6; return f }(), nil, Routed},
		{"TTL 1", func() craft.Frame { f := craft.TCPBulk(); f.TTL = 1; return f }(), nil, TTLExpires},
		{"hop limit 1", func() craft.Frame { f := v6; f.TTL = 1; return f }(), nil, TTLExpires},
		{"bad IPv4 checksum", func() craft.Frame { f := craft.TCPBulk(); f.BadIP = true; return f }(), nil, BadIPHeader},
		{"VLAN", func() craft.Frame { f := craft.TCPBulk(); f.VLANs = []uint16{0x8100}; return f }(), nil, VLANTagged},
		{"broadcast", craft.UDPBulk(), func(b []byte) { copy(b[30:34], []byte{255, 255, 255, 255}); fixIPv4(b) }, NotUnicast},
		{"multicast", craft.UDPBulk(), func(b []byte) { b[30] = 239; fixIPv4(b) }, NotUnicast},
		{"loopback", craft.UDPBulk(), func(b []byte) { b[26] = 127; fixIPv4(b) }, LoopbackAddr},
		{"IPv6 link-local", v6, func(b []byte) { b[22], b[23] = 0xfe, 0x80 }, LinkLocalIPv6},
		{"ARP", craft.TCPBulk(), func(b []byte) { b[12], b[13] = 0x08, 0x06 }, NotIP},
		{"jumbo", func() craft.Frame { f := craft.TCPBulk(); f.Payload = craft.Payload(3000, 0); return f }(), nil, LargerThanMTU},
	} {
		frame := tc.f.Packet().Data
		if tc.edit != nil {
			tc.edit(frame)
		}
		out, why := testHop.Route(nil, frame)
		if why != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, why, tc.want)
			continue
		}
		if why != Routed {
			continue
		}
		p := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
		eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		if !bytes.Equal(eth.SrcMAC, testHop.Src[:]) || !bytes.Equal(eth.DstMAC, testHop.Dst[:]) {
			t.Errorf("%s: MACs %v > %v", tc.name, eth.SrcMAC, eth.DstMAC)
		}
		in := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			was := in.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if ip.TTL != was.TTL-1 || int(ip.Length)+14 != len(out) {
				t.Errorf("%s: TTL %d (was %d), %d bytes for IP length %d", tc.name, ip.TTL, was.TTL, len(out), ip.Length)
			}
			if c := craft.IPv4Checksum(out[14 : 14+int(ip.IHL)*4]); c != ip.Checksum {
				t.Errorf("%s: header checksum %#04x, recomputed %#04x", tc.name, ip.Checksum, c)
			}
		} else {
			ip := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if ip.HopLimit != in.Layer(layers.LayerTypeIPv6).(*layers.IPv6).HopLimit-1 {
				t.Errorf("%s: hop limit %d", tc.name, ip.HopLimit)
			}
		}
		// Nothing else changed: for IPv4 all but the TTL (byte 22) and the
		// header checksum (24, 25), for IPv6 all but the hop limit (21).
		same := bytes.Equal(out[12:22], frame[12:22]) && out[23] == frame[23] && bytes.Equal(out[26:], frame[26:len(out)])
		if frame[14]>>4 == 6 {
			same = bytes.Equal(out[12:21], frame[12:21]) && bytes.Equal(out[22:], frame[22:len(out)])
		}
		if !same {
			t.Errorf("%s: bytes other than the routing's changed", tc.name)
		}
	}
}

// fixIPv4 recomputes an edited test frame's IPv4 header checksum.
func fixIPv4(b []byte) {
	ip := b[14:34]
	ip[10], ip[11] = 0, 0
	c := craft.IPv4Checksum(ip)
	ip[10], ip[11] = byte(c>>8), byte(c)
}

// FuzzRoute: any frame is routed or refused without a panic; a routed
// frame is no longer than the input and keeps its EtherType.
func FuzzRoute(f *testing.F) {
	f.Add(craft.TCPBulk().Packet().Data)
	v6 := craft.TCPBulk()
	v6.V6 = true
	f.Add(v6.Packet().Data)
	f.Fuzz(func(t *testing.T, frame []byte) {
		out, why := testHop.Route(nil, frame)
		if why != Routed {
			if out != nil {
				t.Fatalf("refused (%s) with a frame", why)
			}
			return
		}
		if len(out) > len(frame) || !bytes.Equal(out[12:14], frame[12:14]) {
			t.Fatalf("routed %d bytes from %d", len(out), len(frame))
		}
	})
}

// TestRouteNAT: with a source NAT, the routed frame comes from the NAT's
// address, and gopacket finds its IPv4 header and TCP or UDP checksums
// right (a UDP checksum of 0 over IPv4 stays 0, as nf_nat keeps it).
func TestRouteNAT(t *testing.T) {
	nat, err := rewrite.New(rewrite.Options{SrcIPMap: []rewrite.CIDRMap{
		{From: netip.MustParsePrefix("0.0.0.0/0"), To: netip.MustParsePrefix("198.51.100.71/32")},
		{From: netip.MustParsePrefix("::/0"), To: netip.MustParsePrefix("2001:db8::71/128")}}})
	if err != nil {
		t.Fatal(err)
	}
	hop := testHop
	hop.NAT = nat
	tcp6 := craft.TCPBulk6()
	udp6 := craft.UDPBulk()
	udp6.V6 = true
	zero := craft.UDPBulk()
	zero.ZeroUDP = true
	for name, f := range map[string]craft.Frame{"tcpv4": craft.TCPBulk(), "tcpv6": tcp6, "udpv4": craft.UDPBulk(), "udpv6": udp6, "udpv4 no checksum": zero} {
		out, why := hop.Route(nil, f.Bytes())
		if why != Routed {
			t.Fatalf("%s: %s", name, why)
		}
		pk := gopacket.NewPacket(out, layers.LinkTypeEthernet, gopacket.Default)
		want := "198.51.100.71"
		if f.V6 {
			want = "2001:db8::71"
		}
		if src := pk.NetworkLayer().NetworkFlow().Src().String(); src != want {
			t.Fatalf("%s: from %s", name, src)
		}
		if ip, ok := pk.NetworkLayer().(*layers.IPv4); ok {
			if sum := header.Fold(header.Sum(ip.Contents, 0)); sum != 0xffff {
				t.Fatalf("%s: IPv4 header checksum wrong", name)
			}
		}
		var c uint16
		switch l4 := pk.TransportLayer().(type) {
		case *layers.TCP:
			l4.SetNetworkLayerForChecksum(pk.NetworkLayer())
			c, err = l4.ComputeChecksum()
		case *layers.UDP:
			if l4.Checksum == 0 {
				if !f.ZeroUDP {
					t.Fatalf("%s: UDP checksum 0", name)
				}
				continue
			}
			// gopacket computes no UDP checksum: the sum over the
			// pseudo-header and the datagram, computed from scratch,
			// folds to 0xffff when it is right.
			dgram := append(append([]byte(nil), l4.Contents...), l4.Payload...)
			var addrs []byte
			addrs = append(addrs, pk.NetworkLayer().NetworkFlow().Src().Raw()...)
			addrs = append(addrs, pk.NetworkLayer().NetworkFlow().Dst().Raw()...)
			c = ^header.Fold(header.Sum(dgram, header.PseudoHeaderSum(addrs, header.ProtoUDP, uint32(len(dgram)))))
		}
		if err != nil || c != 0 || f.ZeroUDP {
			t.Fatalf("%s: checksum wrong (%#x, %v)", name, c, err)
		}
	}
}
