package coalesce_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// TestIPv6Jumbo: with Options.IPv6Jumbo, an IPv6 TCP super-packet above
// 64 KiB carries the Hop-by-Hop jumbo option, as gopacket reads it (RFC
// 2675: payload length 0, the option's length counting every byte after
// the fixed header); smaller ones, IPv4 and the option off carry none;
// borrow mode agrees and segment gives back every frame.
func TestIPv6Jumbo(t *testing.T) {
	v6 := craft.TCPBulk6()
	for _, c := range []struct {
		name      string
		base      craft.Frame
		jumbo     bool
		wantJumbo int
	}{
		// 300 segments of 1428 bytes, 150 per super-packet (262144 bytes
		// of IP): two above 64 KiB.
		{"ipv6 on", v6, true, 2},
		{"ipv6 off", v6, false, 0},
		{"ipv4 on", craft.TCPBulk(), true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			pkts := craft.Packets(craft.Flow(c.base, 300, nil))
			o := coalesce.DefaultOptions()
			o.MaxBytes, o.MaxSegments, o.MaxSpan, o.IPv6Jumbo = 262144, coalesce.MaxSegs, 0, c.jumbo
			got := coalesceAll(t, pkts, o)
			jumbo := 0
			var payload []byte
			for i, rec := range got.recs {
				pk := gopacket.NewPacket(rec.Data, layers.LinkTypeEthernet, gopacket.Default)
				tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if tcp == nil && c.base.V6 && !c.jumbo && len(rec.Data)-14-40 > 0xffff {
					// gopacket, as RFC 2675 does, wants the option with
					// payload length 0; the length is the frame's.
					if next := rec.Data[14+6]; next != byte(layers.IPProtocolTCP) {
						t.Fatalf("record %d: next header %d", i+1, next)
					}
					payload = append(payload, rec.Data[14+40+32:]...)
					continue
				}
				if tcp == nil {
					t.Fatalf("record %d: gopacket finds no TCP: %v", i+1, pk.ErrorLayer())
				}
				payload = append(payload, tcp.Payload...)
				hbh, _ := pk.Layer(layers.LayerTypeIPv6HopByHop).(*layers.IPv6HopByHop)
				if hbh == nil {
					continue
				}
				jumbo++
				ip := pk.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				if len(rec.Data)-14-40 <= 0xffff || len(hbh.Options) != 1 || hbh.Options[0].OptionType != layers.IPv6HopByHopOptionJumbogram {
					t.Fatalf("record %d of %d bytes: options %+v", i+1, len(rec.Data), hbh.Options)
				}
				if n := binary.BigEndian.Uint32(hbh.Options[0].OptionData); ip.Length != 0 || int(n) != len(rec.Data)-14-40 || hbh.NextHeader != layers.IPProtocolTCP {
					t.Fatalf("record %d of %d bytes: payload length %d, jumbo length %d, next header %v", i+1, len(rec.Data), ip.Length, n, hbh.NextHeader)
				}
			}
			if jumbo != c.wantJumbo {
				t.Fatalf("%d records with a jumbo option, want %d", jumbo, c.wantJumbo)
			}
			var want []byte
			for _, p := range pkts {
				want = append(want, p.Data[len(p.Data)-len(c.base.Payload):]...)
			}
			if !bytes.Equal(payload, want) {
				t.Fatalf("the records' TCP payloads differ from the segments' at byte %d", firstDiff(payload, want))
			}
			borrowAgrees(t, pkts, o)
			restoreAll(t, pkts, got)
		})
	}
}
