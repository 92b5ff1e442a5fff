package replay

import (
	"testing"

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
		s := Shard(&p, 4)
		if s != Shard(&q, 4) {
			t.Fatalf("port %d: the two directions go to shards %d and %d", port, s, Shard(&q, 4))
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
		if s := Shard(&p, 4); s != 0 {
			t.Errorf("a packet of no connection went to shard %d", s)
		}
	}
	if p := craft.TCPBulk().Packet(); Shard(&p, 1) != 0 {
		t.Error("one shard is not shard 0")
	}
}
