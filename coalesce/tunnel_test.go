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
