package replay

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// TestShard: both directions of a connection go to one shard, packets of
// no connection to shard 0, and many connections spread over the shards.
func TestShard(t *testing.T) {
	count := make([]int, 4)
	for port := range 4000 {
		f := craft.TCPBulk()
		f.Sport = uint16(10000 + port)
		f.V6 = port%2 == 1
		back := f
		back.Sport, back.Dport, back.Swap = f.Dport, f.Sport, true
		p, q := f.Packet(), back.Packet()
		s := shardOf(&p, 4)
		if s != shardOf(&q, 4) {
			t.Fatalf("port %d: the two directions go to shards %d and %d", port, s, shardOf(&q, 4))
		}
		count[s]++
	}
	for s, n := range count {
		if n < 800 || n > 1200 {
			t.Errorf("shard %d has %d of 4000 connections: %v", s, n, count)
		}
	}
	frag := craft.UDPBulk()
	frag.Fragment = true
	arp := pcaps.Packet{Data: make([]byte, 60), LinkType: layers.LinkTypeEthernet}
	arp.Data[12], arp.Data[13] = 0x08, 0x06
	for _, p := range []pcaps.Packet{frag.Packet(), arp} {
		if s := shardOf(&p, 4); s != 0 {
			t.Errorf("a packet of no connection went to shard %d", s)
		}
	}
	if p := craft.TCPBulk().Packet(); shardOf(&p, 1) != 0 {
		t.Error("one shard is not shard 0")
	}
}

// TestBalance: connections of very different sizes end up with even work
// per shard, both directions of each on one shard, packets of no
// connection on shard 0.
func TestBalance(t *testing.T) {
	var pkts []pcaps.Packet
	sizes := []int{4000, 3000, 2000, 1000, 1000, 500, 300, 200}
	for c, n := range sizes {
		for k := range n {
			f := craft.TCPBulk()
			f.Sport = uint16(20000 + c)
			if k%4 == 3 {
				f.Sport, f.Dport, f.Swap, f.Payload = f.Dport, f.Sport, true, nil // the ACKs
			}
			pkts = append(pkts, f.Packet())
		}
	}
	frag := craft.UDPBulk()
	frag.Fragment = true
	pkts = append(pkts, frag.Packet())
	b := newBalance(2)
	for i := range pkts {
		b.Add(&pkts[i])
	}
	b.Assign()
	var load [2]int64
	conn := map[uint16]int{}
	for i := range pkts {
		p := &pkts[i]
		s := b.Shard(p)
		load[s] += int64(len(p.Data))
		if k, ok := coalescePorts(p); ok {
			if prev, seen := conn[k]; seen && prev != s {
				t.Fatalf("connection %d on shards %d and %d", k, prev, s)
			}
			conn[k] = s
		} else if s != 0 {
			t.Errorf("a packet of no connection on shard %d", s)
		}
	}
	if diff := float64(load[0]-load[1]) / float64(load[0]+load[1]); diff > 0.05 || diff < -0.05 {
		t.Errorf("shard loads %v: %.0f%% apart", load, 100*diff)
	}
}

// coalescePorts is the client port of a crafted TCP packet, its
// connection, read with gopacket.
func coalescePorts(p *pcaps.Packet) (uint16, bool) {
	tcp, ok := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.NoCopy).Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		return 0, false
	}
	if uint16(tcp.SrcPort) == craft.TCPBulk().Dport {
		return uint16(tcp.DstPort), true
	}
	return uint16(tcp.SrcPort), true
}

// TestSteer: two phases of two heavy connections each, one after the
// other as in two recordings joined, are split two and two, each phase
// over both shards (hashing may put three on one), with even work; both
// directions of a connection go to one shard; two Steers agree on every
// packet; packets of no connection go to shard 0.
func TestSteer(t *testing.T) {
	var pkts []pcaps.Packet
	for phase := range 2 {
		for k := range 3000 {
			for c := range 2 {
				f := craft.TCPBulk()
				f.Sport = uint16(30000 + 10*phase + c)
				if k%4 == 3 {
					f.Sport, f.Dport, f.Swap, f.Payload = f.Dport, f.Sport, true, nil
				}
				pkts = append(pkts, f.Packet())
			}
		}
	}
	a, b := newSteer(2), newSteer(2)
	conn := map[uint16]int{} // by client port
	bytes := make([]int, 2)
	for i := range pkts {
		p := &pkts[i]
		s := a.Shard(p)
		if s != b.Shard(p) {
			t.Fatalf("packet %d: two Steers disagree", i)
		}
		port := portOf(t, p)
		if prev, ok := conn[port]; ok && prev != s {
			t.Fatalf("connection %d moved from shard %d to %d", port, prev, s)
		}
		conn[port] = s
		bytes[s] += len(p.Data)
	}
	if conn[30000] == conn[30001] || conn[30010] == conn[30011] {
		t.Errorf("a phase's two connections share a shard: %v", conn)
	}
	if bytes[0] != bytes[1] {
		t.Errorf("uneven: %v bytes", bytes)
	}
	arp := pcaps.Packet{Data: make([]byte, 60), LinkType: layers.LinkTypeEthernet}
	arp.Data[12], arp.Data[13] = 0x08, 0x06
	if s := a.Shard(&arp); s != 0 {
		t.Errorf("a packet of no connection went to shard %d", s)
	}
}

// portOf is the client port of a TCP packet of craft.TCPBulk's
// connections, whichever its direction, decoded by gopacket.
func portOf(t *testing.T, p *pcaps.Packet) uint16 {
	t.Helper()
	pk := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
	tcp, ok := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		t.Fatal("not TCP")
	}
	return uint16(max(tcp.SrcPort, tcp.DstPort))
}

// TestSteerSequential: connections that follow one another in time, as
// in recordings joined end to end, are shared by what they weighed: sizes
// 4, 3, 3, 2 give 6 and 6 (hashing gives what it gives).
func TestSteerSequential(t *testing.T) {
	s := newSteer(2)
	bytes := make([]int, 2)
	for c, size := range []int{4, 3, 3, 2} {
		shard := -1
		for k := range size * 3000 {
			f := craft.TCPBulk()
			f.Sport = uint16(31000 + c)
			if k%4 == 3 {
				f.Sport, f.Dport, f.Swap, f.Payload = f.Dport, f.Sport, true, nil
			}
			p := f.Packet()
			got := s.Shard(&p)
			if shard >= 0 && got != shard {
				t.Fatalf("connection %d moved", c)
			}
			shard = got
			bytes[got] += len(p.Data)
		}
	}
	if bytes[0] != bytes[1] {
		t.Errorf("uneven: %v bytes", bytes)
	}
}
