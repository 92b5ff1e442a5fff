package coalesce_test

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// TestTunnelRules: runs of VXLAN and GENEVE packets (crafted: the oracle)
// merge by their inner TCP or UDP packets into UDP tunnel super-packets
// with tunnel GSO on, and the reference segmenter gives every frame back
// byte for byte (restoreAll); every difference in the outer headers ends
// the run with its reason. With tunnel GSO off they merge as the outer
// USO they are, where the outer checksum allows it.
func TestTunnelRules(t *testing.T) {
	vx := craft.TCPBulk()
	vx.Payload = craft.Payload(1398, 0) // 1500-byte outer packets
	vx.Tunnel = craft.VXLANTunnel()
	vx6in := vx
	vx6in.V6, vx6in.Payload = true, craft.Payload(1378, 0)
	csum := vx
	csum.Tunnel.ZeroCsum = false
	v6out := vx
	v6out.Tunnel.V6, v6out.Payload = true, craft.Payload(1378, 0)
	v6outCsum := v6out
	v6outCsum.Tunnel.ZeroCsum = false
	gen := vx
	gen.Tunnel.Kind, gen.Tunnel.Options, gen.Payload = craft.Geneve, []byte{0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef}, craft.Payload(1390, 0)
	udp := craft.UDPBulk()
	udp.Tunnel = craft.VXLANTunnel()
	udp6 := udp
	udp6.Tunnel.V6, udp6.V6, udp6.Tunnel.ZeroCsum = true, true, false
	on := coalesce.DefaultOptions()
	on.TunnelGSO = true
	off := coalesce.DefaultOptions()
	cases := []struct {
		name   string
		pkts   []pkt
		opts   coalesce.Options
		segs   []int
		tunnel gso.Type // the tunnel bit of the super-packets
		flush  coalesce.Reason
	}{
		{"vxlan v4/tcpv4, outer checksum 0", flow(vx, 5, nil), on, []int{5}, gso.UDPTunnel4, coalesce.ReasonEnd},
		{"vxlan v4/tcpv6", flow(vx6in, 4, nil), on, []int{4}, gso.UDPTunnel4, coalesce.ReasonEnd},
		{"vxlan v4/tcpv4, outer checksum", flow(csum, 4, nil), on, []int{4}, gso.UDPTunnel4, coalesce.ReasonEnd},
		{"vxlan v6/tcpv4, outer checksum 0", flow(v6out, 4, nil), on, []int{4}, gso.UDPTunnel6, coalesce.ReasonEnd},
		{"vxlan v6/tcpv4, outer checksum", flow(v6outCsum, 4, nil), on, []int{4}, gso.UDPTunnel6, coalesce.ReasonEnd},
		{"geneve with options", flow(gen, 4, nil), on, []int{4}, gso.UDPTunnel4, coalesce.ReasonEnd},
		{"vxlan v4/udp", flow(udp, 4, nil), on, []int{4}, gso.UDPTunnel4, coalesce.ReasonEnd},
		{"vxlan v6/udpv6", flow(udp6, 4, nil), on, []int{4}, gso.UDPTunnel6, coalesce.ReasonEnd},
		{"short last with PSH", flow(vx, 4, at(3, func(p *pkt) { p.Payload, p.Flags = p.Payload[:100], p.Flags|craft.PSH })), on, []int{4}, gso.UDPTunnel4, coalesce.ReasonPSHFIN},
		{"outer ID jumps", flow(vx, 4, from(2, func(p *pkt) { p.Tunnel.ID += 5 })), on, []int{2, 2}, gso.UDPTunnel4, coalesce.ReasonOuterIPID},
		{"outer source port differs", flow(vx, 4, from(2, func(p *pkt) { p.Tunnel.Sport++ })), on, []int{2, 2}, gso.UDPTunnel4, 0},
		{"outer TTL differs", flow(vx, 4, from(2, func(p *pkt) { p.Tunnel.TTL-- })), on, []int{2, 2}, gso.UDPTunnel4, coalesce.ReasonOuterHeader},
		{"VNI differs", flow(vx, 4, from(2, func(p *pkt) { p.Tunnel.VNI++ })), on, []int{2, 2}, gso.UDPTunnel4, 0},
		{"outer checksum on some", flow(vx, 4, at(2, func(p *pkt) { p.Tunnel.ZeroCsum = false })), on, []int{2}, gso.UDPTunnel4, coalesce.ReasonOuterCsum},
		{"inner ID jumps", flow(vx, 4, from(2, func(p *pkt) { p.ID += 3 })), on, []int{2, 2}, gso.UDPTunnel4, coalesce.ReasonIPID},
		// Tunnel GSO off: the outer datagrams merge as USO if their
		// checksum is there, else not at all.
		{"off: outer checksum 0", flow(vx, 4, nil), off, nil, 0, 0},
		{"off: outer checksum", flow(csum, 4, nil), off, []int{4}, 0, coalesce.ReasonEnd},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkts := packets(tc.pkts)
			// The crafted frames are what Wireshark's dissectors read:
			// outer UDP, the tunnel, the inner TCP or UDP.
			for _, p := range pkts[:1] {
				g := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
				if g.ErrorLayer() != nil {
					t.Fatalf("gopacket: %v", g.ErrorLayer().Error())
				}
				if g.Layer(layers.LayerTypeVXLAN) == nil && g.Layer(layers.LayerTypeGeneve) == nil {
					t.Fatalf("gopacket finds no tunnel in %v", g)
				}
			}
			got := coalesceAll(t, pkts, tc.opts)
			var segs []int
			for _, m := range got.metas {
				if m.Segs > 1 {
					segs = append(segs, m.Segs)
					if m.Vnet.GSOType.Tunnel() != tc.tunnel {
						t.Errorf("gso type %s, want tunnel bits %#x", m.Vnet.GSOType, uint8(tc.tunnel))
					}
				}
			}
			if !equalInts(segs, tc.segs) {
				t.Errorf("super-packets of %v segments, want %v (refused %v, flushes %v)", segs, tc.segs,
					nonZero(got.stats.Refused[:]), nonZero(got.stats.Flushes[:]))
			}
			if tc.flush != 0 && got.stats.Flushes[tc.flush] == 0 {
				t.Errorf("flush %q not counted: %v", tc.flush, nonZero(got.stats.Flushes[:]))
			}
			restoreAll(t, pkts, got)
		})
	}
}

// TestTunnelTSO: a TCP packet in a UDP tunnel captured whole on a TSO host
// (crafted in one piece: the oracle's frame) becomes, read by
// TCPView.ParseTunnel and built by gso.BuildTSO, a tunnel super-packet
// whose reference segmentation is, byte for byte, the same flow crafted in
// segments: outer and inner IDs counting up, lengths, checksums, the outer
// UDP checksum where the tunnel has one, PSH on the last segment alone.
func TestTunnelTSO(t *testing.T) {
	vx := craft.TCPBulk()
	vx.Tunnel = craft.VXLANTunnel()
	csum := vx
	csum.Tunnel.ZeroCsum = false
	v6 := csum
	v6.Tunnel.V6, v6.V6 = true, true
	gen := vx
	gen.Tunnel.Kind, gen.Tunnel.Options = craft.Geneve, []byte{0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef}
	for name, base := range map[string]craft.Frame{"vxlan v4/tcpv4": vx, "vxlan v4/tcpv4 csum": csum, "vxlan v6/tcpv6 csum": v6, "geneve v4/tcpv4": gen} {
		t.Run(name, func(t *testing.T) {
			const mss, n = 1000, 5
			base.Payload = craft.Payload(mss, 0)
			segs := craft.Flow(base, n, func(k int, p *craft.Frame) {
				if k == n-1 {
					p.Flags |= craft.PSH
					p.Payload = p.Payload[:mss/2]
				}
			})
			whole := base
			whole.Flags |= craft.PSH
			whole.Payload = nil
			for _, s := range segs {
				whole.Payload = append(whole.Payload, s.Payload...)
			}
			frame := whole.Bytes()
			var v coalesce.TCPView
			if v.Parse(frame, layers.LinkTypeEthernet, 0) || !v.ParseTunnel(frame, 0) || v.Outer.L4 == 0 || v.Payload != len(whole.Payload) {
				t.Fatalf("ParseTunnel: %+v", v)
			}
			h, count, err := gso.BuildTSO(frame, v.Offsets, mss)
			if err != nil || count != n || h.GSOType.Tunnel() == 0 {
				t.Fatalf("BuildTSO: %v, %d segments, %s", err, count, h.GSOType)
			}
			var s gso.Segmenter
			out, err := s.Segment(frame, layers.LinkTypeEthernet, h)
			if err != nil || len(out) != n {
				t.Fatalf("%d segments, %v", len(out), err)
			}
			for k, want := range craft.Packets(segs) {
				if string(out[k]) != string(want.Data) {
					t.Errorf("segment %d differs from the crafted one", k+1)
				}
			}
		})
	}
	// Without a tunnel ParseTunnel reads nothing.
	var v coalesce.TCPView
	if plain := craft.TCPBulk().Bytes(); v.ParseTunnel(plain, 0) {
		t.Errorf("ParseTunnel read a plain TCP frame")
	}
}
