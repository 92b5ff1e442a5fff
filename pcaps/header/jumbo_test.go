package header_test

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// jumboPacket is an IPv6 packet of n bytes (fixed header to the end):
// payload length 0, then hbh as the first extension header, then a TCP
// header and zero payload; the IPv6 next header is 0 (Hop-by-Hop).
func jumboPacket(n int, hbh []byte) []byte {
	b := make([]byte, n)
	b[0] = 0x60
	b[6], b[7] = 0, 64
	b[23], b[39] = 1, 2
	copy(b[40:], hbh)
	tcp := b[40+len(hbh):]
	binary.BigEndian.PutUint16(tcp[0:], 1000)
	binary.BigEndian.PutUint16(tcp[2:], 2000)
	tcp[12] = 5 << 4
	return b
}

// TestIPv6Jumbo: what Encode writes is the Jumbo Payload option as gopacket
// decodes it, and BigTCPJumbo says yes only where Linux's
// ipv6_has_hopopt_jumbo does.
func TestIPv6Jumbo(t *testing.T) {
	const n = 200000
	j := make(header.IPv6Jumbo, header.IPv6JumboSize)
	j.Encode(header.ProtoTCP, n-header.IPv6MinimumSize)
	pk := gopacket.NewPacket(jumboPacket(n, j), layers.LayerTypeIPv6, gopacket.Default)
	hbh, _ := pk.Layer(layers.LayerTypeIPv6HopByHop).(*layers.IPv6HopByHop)
	if hbh == nil || pk.Layer(layers.LayerTypeTCP) == nil {
		t.Fatalf("gopacket reads no Hop-by-Hop and TCP header: %v", pk.ErrorLayer())
	}
	o := hbh.Options
	if len(o) != 1 || o[0].OptionType != layers.IPv6HopByHopOptionJumbogram || binary.BigEndian.Uint32(o[0].OptionData) != n-header.IPv6MinimumSize || hbh.NextHeader != layers.IPProtocolTCP {
		t.Fatalf("gopacket reads %+v, next header %v", o, hbh.NextHeader)
	}
	if j.PayloadLength() != n-header.IPv6MinimumSize || j.NextHeader() != header.ProtoTCP {
		t.Fatalf("the view reads %d, next header %d", j.PayloadLength(), j.NextHeader())
	}

	padN := []byte{header.ProtoTCP, 0, 1, 4, 0, 0, 0, 0}
	withLen1 := append(append([]byte(nil), j...), make([]byte, 8)...)
	withLen1[1] = 1
	toUDP := append([]byte(nil), j...)
	toUDP[0] = header.ProtoUDP
	plain := jumboPacket(n, j)
	plain[6] = header.ProtoTCP
	for _, c := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"jumbo", jumboPacket(n, j), true},
		{"65537 bytes", jumboPacket(65537, j), true},
		{"65536 bytes", jumboPacket(65536, j), false}, // not above GRO_LEGACY_MAX_SIZE
		{"PadN", jumboPacket(n, padN), false},
		{"Hop-by-Hop of 16 bytes", jumboPacket(n, withLen1), false},
		{"before UDP", jumboPacket(n, toUDP), false},
		{"no Hop-by-Hop", plain, false},
	} {
		if got := header.IPv6(c.b).BigTCPJumbo(); got != c.want {
			t.Errorf("%s: BigTCPJumbo %v, want %v", c.name, got, c.want)
		}
	}

	// A BIG TCP packet as Linux wrote it (tcpdump's test capture).
	data, err := os.ReadFile("../../../shared/corpus/tcpdump__bigtcp-ipv6-hbh.pcap")
	if err != nil {
		testenv.Missing(t, "the corpus: "+err.Error())
	}
	frame := data[24+16:]
	ip := header.IPv6(frame[14:])
	pk = gopacket.NewPacket(frame, layers.LinkTypeEthernet, gopacket.Default)
	hbh, _ = pk.Layer(layers.LayerTypeIPv6HopByHop).(*layers.IPv6HopByHop)
	if hbh == nil || !ip.BigTCPJumbo() || header.IPv6Jumbo(ip[40:]).PayloadLength() != binary.BigEndian.Uint32(hbh.Options[0].OptionData) {
		t.Fatalf("the kernel's BIG TCP frame: BigTCPJumbo %v, gopacket %+v", ip.BigTCPJumbo(), hbh)
	}
}
