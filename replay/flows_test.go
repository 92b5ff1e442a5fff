package replay

import (
	"bytes"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// build serializes layers with gopacket (the oracle for the bytes).
func build(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	b := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(b, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFlowTable: packets built by gopacket, counted as tcpreplay 4.6's
// flow_decode counts them (the expected counts worked out by hand from its
// rules): a directional tuple per flow, ICMP by type and code and only
// with its 28-byte header, non-IP and 802.3 frames, VLAN tags and MPLS
// labels stepped over, expiry by capture seconds.
func TestFlowTable(t *testing.T) {
	a, b := net.IPv4(10, 0, 0, 1).To4(), net.IPv4(10, 0, 0, 2).To4()
	eth := func(et layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: et}
	}
	ip := func(src, dst net.IP, p layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: p, SrcIP: src, DstIP: dst}
	}
	tcp := func(sp, dp layers.TCPPort) *layers.TCP { return &layers.TCP{SrcPort: sp, DstPort: dp, DataOffset: 5} }
	ab := build(t, eth(layers.EthernetTypeIPv4), ip(a, b, layers.IPProtocolTCP), tcp(1000, 80))
	ba := build(t, eth(layers.EthernetTypeIPv4), ip(b, a, layers.IPProtocolTCP), tcp(80, 1000))
	other := build(t, eth(layers.EthernetTypeIPv4), ip(a, b, layers.IPProtocolTCP), tcp(1001, 80))
	udp := build(t, eth(layers.EthernetTypeIPv4), ip(a, b, layers.IPProtocolUDP), &layers.UDP{SrcPort: 53, DstPort: 53})
	ping := build(t, eth(layers.EthernetTypeIPv4), ip(a, b, layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, gopacket.Payload(make([]byte, 20)))
	pong := build(t, eth(layers.EthernetTypeIPv4), ip(b, a, layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0)}, gopacket.Payload(make([]byte, 20)))
	shortPing := build(t, eth(layers.EthernetTypeIPv4), ip(a, b, layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, gopacket.Payload(make([]byte, 19)))
	arp := build(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4, Operation: 1,
		SourceHwAddress: make([]byte, 6), SourceProtAddress: a, DstHwAddress: make([]byte, 6), DstProtAddress: b})
	vlan := build(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, ip(a, b, layers.IPProtocolTCP), tcp(1000, 80))
	mpls := build(t, eth(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 100, StackBottom: true, TTL: 64}, ip(a, b, layers.IPProtocolUDP), &layers.UDP{SrcPort: 53, DstPort: 53})
	dot3 := build(t, &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeLLC, Length: 40}, gopacket.Payload(make([]byte, 40)))
	v6 := build(t, eth(layers.EthernetTypeIPv6), &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolUDP, HopLimit: 64, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}, &layers.UDP{SrcPort: 53, DstPort: 53})

	type pkt struct {
		data []byte
		sec  int64
	}
	for _, c := range []struct {
		name   string
		expiry int
		pkts   []pkt
		want   FlowStats
	}{
		{"a connection is two flows", 0, []pkt{{ab, 0}, {ba, 0}, {ab, 1}, {other, 2}}, FlowStats{Flows: 3, Unique: 3, FlowPackets: 4}},
		// The VLAN frame is flow ab's, the MPLS one udp's.
		{"tags and labels stepped over", 0, []pkt{{ab, 0}, {vlan, 0}, {udp, 0}, {mpls, 0}, {v6, 0}}, FlowStats{Flows: 3, Unique: 3, FlowPackets: 5}},
		{"ICMP by type and code", 0, []pkt{{ping, 0}, {pong, 0}, {ping, 1}, {shortPing, 1}}, FlowStats{Flows: 2, Unique: 2, FlowPackets: 3, Invalid: 1}},
		{"not IP", 0, []pkt{{arp, 0}, {dot3, 0}, {ab[:14], 0}}, FlowStats{NonFlowPackets: 1, Invalid: 2}},
		// Expired when more than 2 s after the flow's last packet.
		{"expiry", 2, []pkt{{ab, 10}, {ab, 12}, {ab, 15}, {ab, 16}, {ba, 30}, {ab, 30}}, FlowStats{Flows: 4, Unique: 2, Expired: 2, FlowPackets: 6}},
	} {
		ft := newFlowTable(c.expiry)
		for _, p := range c.pkts {
			ft.add(p.data, layers.LinkTypeEthernet, p.sec, false, 0)
		}
		if ft.FlowStats != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, ft.FlowStats, c.want)
		}
	}

	// Shifted for a --unique-ip pass: new flows, and the frames it cannot
	// edit are not counted.
	ft := newFlowTable(0)
	for _, k := range []uint64{0, 1} {
		for _, p := range [][]byte{ab, ba, arp} {
			ft.add(p, layers.LinkTypeEthernet, 0, k > 0, k)
		}
	}
	if want := (FlowStats{Flows: 4, Unique: 4, FlowPackets: 4, NonFlowPackets: 1}); ft.FlowStats != want {
		t.Errorf("shifted pass: %+v, want %+v", ft.FlowStats, want)
	}
}

// FuzzFlowTable: any bytes of any link type are counted once, as one kind,
// without a panic.
func FuzzFlowTable(f *testing.F) {
	f.Add([]byte{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x88, 0x47, 0, 0, 0x01, 0x40, 0x45}, uint16(1))
	f.Add([]byte{0x60, 0, 0, 0, 0, 0, 0, 64}, uint16(101))
	f.Fuzz(func(t *testing.T, data []byte, lt uint16) {
		ft := newFlowTable(1)
		ft.add(data, layers.LinkType(lt), 0, false, 0)
		if n := ft.FlowPackets + ft.NonFlowPackets + ft.Invalid; n != 1 {
			t.Fatalf("counted %d times: %+v", n, ft.FlowStats)
		}
	})
}

// BenchmarkFlowTable: the cost per packet of the flow statistics when
// streaming (a lookup per packet), over the kernel-traffic capture.
func BenchmarkFlowTable(b *testing.B) {
	r, err := pcaps.Open("../testdata/kernel-traffic.pcap")
	if err != nil {
		b.Fatal(err)
	}
	var pkts [][]byte
	if err := r.Each(func(p *pcaps.Packet) error { pkts = append(pkts, bytes.Clone(p.Data)); return nil }); err != nil {
		b.Fatal(err)
	}
	r.Close()
	ft := newFlowTable(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ft.add(pkts[i%len(pkts)], layers.LinkTypeEthernet, 0, false, 0)
	}
}

// TestFlowReport: tcpreplay 4.6's flow_stats arithmetic, worked out by
// hand, over a table of 10 flows, 2 expired, 100 flow packets and 4 not
// IP; and two pipelines' tables counting a flow both saw once.
func TestFlowReport(t *testing.T) {
	table := func() *flowTable {
		return &flowTable{FlowStats: FlowStats{Flows: 12, Unique: 10, Expired: 2, FlowPackets: 100, NonFlowPackets: 4}, expiry: 5}
	}
	for _, c := range []struct {
		name       string
		preload    bool
		loops      int
		lastUnique uint64
		want       FlowStats
	}{
		// Streamed passes were all counted: nothing changes.
		{"streaming", false, 3, 0, FlowStats{Flows: 12, Unique: 10, Expired: 2, FlowPackets: 100, NonFlowPackets: 4}},
		// -K counted one pass; loops without new addresses add none.
		{"preload", true, 3, 0, FlowStats{Flows: 12, Unique: 10, Expired: 2, FlowPackets: 100, NonFlowPackets: 4}},
		// -K --unique-ip, 3 loops: unique_iteration 3 after them.
		{"preload unique", true, 3, 3, FlowStats{Flows: 36, Unique: 30, Expired: 6, FlowPackets: 300, NonFlowPackets: 12}},
		// Streaming --unique-ip-loops 2 over 5 loops: 100 * 3 / 5.
		{"streaming unique", false, 5, 3, FlowStats{Flows: 12, Unique: 10, Expired: 2, FlowPackets: 60, NonFlowPackets: 4}},
	} {
		got := *flowReport(table(), c.preload, c.loops, c.lastUnique, 2)
		c.want.ExpirySeconds, c.want.FPS = 5, float64(c.want.Flows)/2
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}

	a, b := newFlowTable(0), newFlowTable(0)
	a.put(flowKey{proto: 6, sport: 1}, 0)
	a.put(flowKey{proto: 6, sport: 2}, 0)
	b.put(flowKey{proto: 6, sport: 2}, 0)
	b.put(flowKey{proto: 17}, 0)
	b.NonFlowPackets = 3
	a.merge(b)
	if want := (FlowStats{Flows: 3, Unique: 3, FlowPackets: 4, NonFlowPackets: 3}); a.FlowStats != want {
		t.Errorf("merged: %+v, want %+v", a.FlowStats, want)
	}
}
