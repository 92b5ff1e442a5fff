package header_test

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// TestEthernetTunnel: the tunnel header's length, against gopacket's
// reading of the same crafted frames (where the inner Ethernet frame
// starts), and refusals for what is no Ethernet tunnel.
func TestEthernetTunnel(t *testing.T) {
	vx := craft.TCPBulk()
	vx.Tunnel = craft.VXLANTunnel()
	gen := vx
	gen.Tunnel.Kind, gen.Tunnel.Options = craft.Geneve, make([]byte, 12)
	small := gen
	small.Payload = craft.Payload(10, 0) // under the 260 bytes of option length 63
	for _, tc := range []struct {
		name  string
		frame []byte
		kind  header.TunnelKind
		mut   func(udp []byte)
	}{
		{"vxlan", vx.Bytes(), header.TunnelVXLAN, nil},
		{"vxlan port 8472", vx.Bytes(), header.TunnelVXLAN, func(u []byte) { u[2], u[3] = 0x21, 0x18 }},
		{"vxlan without the I flag", vx.Bytes(), header.NoTunnel, func(u []byte) { u[8] = 0 }},
		{"geneve with options", gen.Bytes(), header.TunnelGeneve, nil},
		{"geneve carrying IPv4", gen.Bytes(), header.NoTunnel, func(u []byte) { u[10], u[11] = 0x08, 0 }},
		{"geneve version 1", gen.Bytes(), header.NoTunnel, func(u []byte) { u[8] |= 0x40 }},
		{"geneve options beyond the datagram", small.Bytes(), header.NoTunnel, func(u []byte) { u[8] = 0x3f }},
		{"other port", vx.Bytes(), header.NoTunnel, func(u []byte) { u[2], u[3] = 0, 53 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			udp := header.UDP(tc.frame[14+20:])
			if tc.mut != nil {
				tc.mut(udp)
			}
			if tc.kind == header.TunnelGeneve || tc.kind == header.TunnelVXLAN {
				udp = udp[:8+len(udp.Payload())]
			}
			kind, n := header.EthernetTunnel(udp)
			if kind != tc.kind {
				t.Fatalf("kind %v, want %v", kind, tc.kind)
			}
			if kind == header.NoTunnel || tc.mut != nil {
				return
			}
			// gopacket: the tunnel layer's payload is the inner frame.
			g := gopacket.NewPacket(tc.frame, layers.LayerTypeEthernet, gopacket.Default)
			var l gopacket.Layer = g.Layer(layers.LayerTypeVXLAN)
			if kind == header.TunnelGeneve {
				l = g.Layer(layers.LayerTypeGeneve)
			}
			if l == nil {
				t.Fatal("gopacket finds no tunnel layer")
			}
			if want := len(udp.Payload()) - len(l.LayerPayload()); n != want {
				t.Errorf("tunnel header %d bytes, gopacket says %d", n, want)
			}
		})
	}
}
