package inspect_test

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/inspect"
	"github.com/gsoreplay/gsoreplay/internal/superpacket"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// TestDescribeBigTCP: an IPv6 BIG TCP frame is TCP whether its payload
// length 0 stands alone or with the jumbo option (gopacket reads the latter
// to the TCP header).
func TestDescribeBigTCP(t *testing.T) {
	v6 := craft.TCPBulk6()
	o := coalesce.DefaultOptions()
	o.MaxBytes, o.MaxSegments, o.MaxSpan = 262144, coalesce.MaxSegs, 0
	plain, _, err := superpacket.Merge(craft.Packets(craft.Flow(v6, 100, nil)), o)
	if err != nil {
		t.Fatal(err)
	}
	o.IPv6Jumbo = true
	jumbo, _, err := superpacket.Merge(craft.Packets(craft.Flow(v6, 100, nil)), o)
	if err != nil {
		t.Fatal(err)
	}
	pk := gopacket.NewPacket(jumbo, layers.LinkTypeEthernet, gopacket.Default)
	if pk.Layer(layers.LayerTypeIPv6HopByHop) == nil || pk.Layer(layers.LayerTypeTCP) == nil {
		t.Fatalf("gopacket reads %v", pk)
	}
	for name, frame := range map[string][]byte{"payload length 0": plain, "jumbo option": jumbo} {
		info := inspect.Describe(frame, len(frame), layers.LinkTypeEthernet, 0)
		if info.IPVersion != 6 || info.Proto != header.ProtoTCP {
			t.Errorf("%s: IPv%d, protocol %d", name, info.IPVersion, info.Proto)
		}
	}
}
