package coalesce_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"

	"github.com/gopacket/gopacket/layers"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// collect runs packets through a coalesce.Coalescer and keeps copies of the records.
type collected struct {
	recs  []pcaps.Packet
	metas []coalesce.Meta
	stats *coalesce.Stats
}

func coalesceAll(t testing.TB, pkts []pcaps.Packet, opts coalesce.Options) collected {
	t.Helper()
	var out collected
	c := coalesce.New(opts, out.keep)
	for i := range pkts {
		if err := c.Push(&pkts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	out.stats = c.Stats()
	return out
}

// keep copies a record, its frame gathered from its parts (borrow mode).
func (out *collected) keep(r *coalesce.Record) error {
	p := r.Packet
	p.Data = append([]byte(nil), p.Data...)
	for _, part := range r.Parts {
		p.Data = append(p.Data, part...)
	}
	if len(p.Data) != p.Length && len(r.Parts) > 0 {
		return fmt.Errorf("record of %d bytes says length %d", len(p.Data), p.Length)
	}
	m := r.Meta
	m.Deltas = append([]int64(nil), m.Deltas...)
	m.Skips = append([]int32(nil), m.Skips...)
	out.recs = append(out.recs, p)
	out.metas = append(out.metas, m)
	return nil
}

// restoreAll undoes coalesceAll through the comment syntax and checks that
// the original packets come back exactly.
func restoreAll(t testing.TB, orig []pcaps.Packet, got collected) {
	t.Helper()
	var back []pcaps.Packet
	rs := capfile.NewRestorer(func(p *pcaps.Packet) error {
		q := *p
		q.Data = append([]byte(nil), p.Data...)
		back = append(back, q)
		return nil
	})
	for i, rec := range got.recs {
		if got.metas[i].Segs > 1 {
			rec.Comment = string(coalesce.AppendComment(nil, &got.metas[i]))
		}
		if err := rs.Add(&rec); err != nil {
			t.Fatalf("restore record %d: %v", i, err)
		}
	}
	if err := rs.Close(); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(orig) {
		t.Fatalf("restored %d packets, want %d", len(back), len(orig))
	}
	for i := range orig {
		if !bytes.Equal(back[i].Data, orig[i].Data) {
			t.Fatalf("packet %d differs at byte %d after the round trip", i, firstDiff(back[i].Data, orig[i].Data))
		}
		if !back[i].Timestamp.Equal(orig[i].Timestamp) || back[i].Length != orig[i].Length {
			t.Fatalf("packet %d: timestamp/length %v/%d, want %v/%d", i, back[i].Timestamp, back[i].Length, orig[i].Timestamp, orig[i].Length)
		}
	}
}

func packets(ps ...[]pkt) []pcaps.Packet { return craft.Packets(ps...) }

func one(p pkt) []pkt { return []pkt{p} }

// TestMergeRules has one case per line of the lossless merge checklist
// (docs/merge-rules.md) and per refusal: how many super-packets come out, with
// how many segments, and which reason is counted.
func TestMergeRules(t *testing.T) {
	tcp, udp := tcpPkt(), udpPkt()
	v6 := tcpPkt()
	v6.V6, v6.FlowLabel = true, 0x12345
	short := func(n int) func(k int, p *pkt) {
		return func(k int, p *pkt) {
			if k == n-1 {
				p.Payload = payloadOf(300, 9)
				p.Flags |= craft.PSH | craft.FIN
			}
		}
	}
	opts := func(f func(*coalesce.Options)) coalesce.Options {
		o := coalesce.DefaultOptions()
		if f != nil {
			f(&o)
		}
		return o
	}
	// UFO: one 4008-byte UDP datagram in fragments of 1480, 1480 and 1048.
	ufo := udp
	ufo.DF, ufo.Payload = false, payloadOf(4000, 3)
	frags := func(p pkt, mut func(k int, ip []byte), sizes ...int) []pcaps.Packet {
		if len(sizes) == 0 {
			sizes = []int{1480}
		}
		return craft.Fragments(p, mut, sizes...)
	}
	ufoWith := func(f func(p *pkt)) pkt { p := ufo; f(&p); return p }
	onFrag := func(i int, f func(ip []byte)) func(k int, ip []byte) {
		return func(k int, ip []byte) {
			if k == i {
				f(ip)
			}
		}
	}
	drop := func(pkts []pcaps.Packet, i int) []pcaps.Packet { return append(pkts[:i:i], pkts[i+1:]...) }
	cat := func(groups ...[]pcaps.Packet) []pcaps.Packet {
		var out []pcaps.Packet
		for _, g := range groups {
			out = append(out, g...)
		}
		return out
	}
	cases := []struct {
		name    string
		pkts    []pcaps.Packet
		opts    coalesce.Options
		segs    []int           // segments of each super-packet, in order
		refused coalesce.Reason // counted in coalesce.Stats.Refused
		flush   coalesce.Reason // counted in coalesce.Stats.Flushes
	}{
		// Merged, byte for byte reproducible.
		{"tcpv4 with timestamps", packets(flow(tcp, 5, nil)), opts(nil), []int{5}, 0, coalesce.ReasonEnd},
		{"tcpv6 with flow label", packets(flow(v6, 5, nil)), opts(nil), []int{5}, 0, coalesce.ReasonEnd},
		{"tcp without options", packets(flow(tcp, 4, func(k int, p *pkt) { p.TCPOpts = nil })), opts(nil), []int{4}, 0, coalesce.ReasonEnd},
		{"short last with PSH|FIN", packets(flow(tcp, 5, short(5))), opts(nil), []int{5}, 0, coalesce.ReasonPSHFIN},
		{"short last ends the run", packets(flow(tcp, 6, at(3, func(p *pkt) { p.Payload = p.Payload[:100] }))), opts(nil), []int{4, 2}, 0, coalesce.ReasonShort},
		{"CWR on the first", packets(flow(tcp, 4, at(0, func(p *pkt) { p.Flags |= craft.CWR }))), opts(nil), []int{4}, 0, coalesce.ReasonEnd},
		{"ECE on all", packets(flow(tcp, 4, func(k int, p *pkt) { p.Flags |= craft.ECE })), opts(nil), []int{4}, 0, coalesce.ReasonEnd},
		{"IPv4 ID wraps", packets(flow(func() pkt { p := tcp; p.ID = 0xfffe; return p }(), 4, nil)), opts(nil), []int{4}, 0, coalesce.ReasonEnd},
		{"DF clear", packets(flow(tcp, 3, func(k int, p *pkt) { p.DF = false })), opts(nil), []int{3}, 0, coalesce.ReasonEnd},
		{"IPv4 options identical", packets(flow(tcp, 3, func(k int, p *pkt) { p.IPOpts = []byte{0x94, 4, 0, 0} })), opts(nil), []int{3}, 0, coalesce.ReasonEnd},
		{"IPv6 destination options identical", packets(flow(v6, 3, func(k int, p *pkt) { p.Ext = make([]byte, 8) })), opts(nil), []int{3}, 0, coalesce.ReasonEnd},
		{"802.1Q", packets(flow(tcp, 3, func(k int, p *pkt) { p.VLANs = []uint16{craft.TPID8021Q} })), opts(nil), []int{3}, 0, coalesce.ReasonEnd},
		{"QinQ", packets(flow(tcp, 3, func(k int, p *pkt) { p.VLANs = []uint16{craft.TPID8021AD, craft.TPID8021Q} })), opts(nil), []int{3}, 0, coalesce.ReasonEnd},
		{"Linux cooked", packets(flow(tcp, 3, func(k int, p *pkt) { p.LinkType = layers.LinkTypeLinuxSLL })), opts(nil), []int{3}, 0, coalesce.ReasonEnd},
		{"raw IP", packets(flow(tcp, 3, func(k int, p *pkt) { p.LinkType = layers.LinkTypeRaw })), opts(nil), []int{3}, 0, coalesce.ReasonEnd},
		{"USO v4 with short last", packets(flow(udp, 5, at(4, func(p *pkt) { p.Payload = p.Payload[:10] }))), opts(nil), []int{5}, 0, coalesce.ReasonShort},
		{"USO v6", packets(flow(udp, 4, func(k int, p *pkt) { p.V6 = true })), opts(nil), []int{4}, 0, coalesce.ReasonEnd},
		{"USO stops at 128", packets(flow(udp, 130, func(k int, p *pkt) { p.Payload = p.Payload[:100] })), opts(func(o *coalesce.Options) { o.MaxSegments, o.MaxSpan = 1000, 0 }), []int{128, 2}, 0, coalesce.ReasonMaxSegments},

		// UFO: whole IPv4 fragment trains (docs/merge-rules.md §4).
		{"UFO train", frags(ufo, nil), opts(nil), []int{3}, 0, coalesce.ReasonDatagram},
		{"UFO last fragment full", frags(ufoWith(func(p *pkt) { p.Payload = payloadOf(3*1480-8, 1) }), nil), opts(nil), []int{3}, 0, coalesce.ReasonDatagram},
		{"UFO fragments of 8 bytes", frags(ufoWith(func(p *pkt) { p.Payload = payloadOf(40, 1) }), nil, 8), opts(nil), []int{6}, 0, coalesce.ReasonDatagram},
		{"UFO two datagrams", cat(frags(ufo, nil), frags(ufoWith(func(p *pkt) { p.ID++ }), nil)), opts(nil), []int{3, 3}, 0, coalesce.ReasonDatagram},
		{"UFO IPv4 options", frags(ufoWith(func(p *pkt) { p.IPOpts = []byte{0x94, 4, 0, 0} }), nil, 1480), opts(nil), []int{3}, 0, coalesce.ReasonDatagram},
		{"UFO 802.1Q", frags(ufoWith(func(p *pkt) { p.VLANs = []uint16{craft.TPID8021Q} }), nil), opts(nil), []int{3}, 0, coalesce.ReasonDatagram},
		{"UFO raw IP", frags(ufoWith(func(p *pkt) { p.LinkType = layers.LinkTypeRaw }), nil), opts(nil), []int{3}, 0, coalesce.ReasonDatagram},
		{"UFO fragments with DF", frags(ufoWith(func(p *pkt) { p.DF = true }), nil), opts(nil), nil, coalesce.ReasonFragment, 0},
		{"UFO checksum 0", frags(ufoWith(func(p *pkt) { p.ZeroUDP = true }), nil), opts(nil), nil, coalesce.ReasonUDPZeroCsum, 0},
		{"UFO wrong datagram checksum", frags(ufoWith(func(p *pkt) { p.BadL4 = true }), nil), opts(nil), nil, 0, coalesce.ReasonDatagramCsum},
		{"UFO fragment missing", drop(frags(ufo, nil), 1), opts(nil), nil, coalesce.ReasonFragment, coalesce.ReasonFragOrder},
		{"UFO last fragment missing", drop(frags(ufo, nil), 2), opts(nil), nil, 0, coalesce.ReasonEnd},
		{"UFO fragments reordered", func() []pcaps.Packet { f := frags(ufo, nil); f[1], f[2] = f[2], f[1]; return f }(), opts(nil), nil, coalesce.ReasonFragment, coalesce.ReasonFragOrder},
		{"UFO fragment sizes differ", frags(ufo, nil, 1480, 1472), opts(nil), nil, 0, coalesce.ReasonFragSize},
		{"UFO fragment not a multiple of 8", frags(ufo, nil, 1484), opts(nil), nil, coalesce.ReasonMalformed, 0},
		{"UFO TOS differs", frags(ufo, onFrag(1, func(ip []byte) { ip[1] = 0x10 })), opts(nil), nil, 0, coalesce.ReasonTOS},
		{"UFO TTL differs", frags(ufo, onFrag(2, func(ip []byte) { ip[8]-- })), opts(nil), nil, 0, coalesce.ReasonTTL},
		{"UFO options differ", frags(ufoWith(func(p *pkt) { p.IPOpts = []byte{0x94, 4, 0, 0} }), onFrag(1, func(ip []byte) { ip[23] = 1 })), opts(nil), nil, 0, coalesce.ReasonIPOptions},
		{"UFO interleaved", func() []pcaps.Packet {
			f := frags(ufo, nil)
			return cat(f[:2], packets(one(udp)), f[2:])
		}(), opts(nil), nil, coalesce.ReasonFragment, coalesce.ReasonInterleaved},
		{"UFO padded last fragment", func() []pcaps.Packet {
			f := frags(ufoWith(func(p *pkt) { p.Payload = payloadOf(1480+10, 1) }), nil)
			f[1].Data = append(f[1].Data, 0, 0, 0, 0)
			f[1].Length += 4
			return f
		}(), opts(nil), nil, coalesce.ReasonPadding, coalesce.ReasonFlowPacket},
		{"UFO above max segments", frags(ufo, nil), opts(func(o *coalesce.Options) { o.MaxSegments = 2 }), nil, coalesce.ReasonFragment, coalesce.ReasonMaxSegments},
		{"UFO above max bytes", frags(ufo, nil), opts(func(o *coalesce.Options) { o.MaxBytes = 4000 }), nil, coalesce.ReasonFragment, coalesce.ReasonMaxBytes},
		{"UDP over IPv6 fragments", packets(flow(udp, 3, func(k int, p *pkt) { p.V6, p.Fragment = true, true })), opts(nil), nil, coalesce.ReasonFragment, 0},

		// Refused: the packet itself cannot be in a super-packet.
		{"packet comment", func() []pcaps.Packet {
			p := packets(flow(tcp, 3, nil))
			p[1].Comment = "look here"
			return p
		}(), opts(nil), nil, coalesce.ReasonComment, 0},
		{"SYN", packets(flow(tcp, 3, func(k int, p *pkt) { p.Flags |= craft.SYN })), opts(nil), nil, coalesce.ReasonTCPFlags, 0},
		{"RST", packets(flow(tcp, 3, func(k int, p *pkt) { p.Flags |= craft.RST })), opts(nil), nil, coalesce.ReasonTCPFlags, 0},
		{"URG", packets(flow(tcp, 3, func(k int, p *pkt) { p.Flags |= craft.URG })), opts(nil), nil, coalesce.ReasonTCPFlags, 0},
		{"pure ACK", packets(flow(tcp, 3, func(k int, p *pkt) { p.Payload = nil })), opts(nil), nil, coalesce.ReasonNoPayload, 0},
		{"wrong TCP checksum", packets(flow(tcp, 3, func(k int, p *pkt) { p.BadL4 = true })), opts(nil), nil, coalesce.ReasonL4Checksum, 0},
		{"wrong UDP checksum", packets(flow(udp, 3, func(k int, p *pkt) { p.BadL4 = true })), opts(nil), nil, coalesce.ReasonL4Checksum, 0},
		{"UDP checksum 0", packets(flow(udp, 3, func(k int, p *pkt) { p.ZeroUDP = true })), opts(nil), nil, coalesce.ReasonUDPZeroCsum, 0},
		{"wrong IPv4 header checksum", packets(flow(tcp, 3, func(k int, p *pkt) { p.BadIP = true })), opts(nil), nil, coalesce.ReasonIPv4Checksum, 0},
		{"Ethernet padding", packets(flow(tcp, 3, func(k int, p *pkt) { p.Padding = 4 })), opts(nil), nil, coalesce.ReasonPadding, 0},
		{"truncated frame", packets(flow(tcp, 3, func(k int, p *pkt) { p.Truncate = 100 })), opts(nil), nil, coalesce.ReasonTruncated, 0},
		{"IPv4 fragment", packets(flow(tcp, 3, func(k int, p *pkt) { p.Fragment = true })), opts(nil), nil, coalesce.ReasonFragment, 0},
		{"IPv6 fragment header", packets(flow(v6, 3, func(k int, p *pkt) { p.Fragment = true })), opts(nil), nil, coalesce.ReasonFragment, 0},
		{"payload below 8 bytes", packets(flow(tcp, 3, func(k int, p *pkt) { p.Payload = p.Payload[:5] })), opts(nil), nil, 0, coalesce.ReasonSmallGSO},
		{"not IP", []pcaps.Packet{{Data: append(make([]byte, 12), 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1), Length: 22, LinkType: layers.LinkTypeEthernet}}, opts(nil), nil, coalesce.ReasonNotIP, 0},
		{"unsupported link type", []pcaps.Packet{{Data: []byte{2, 0, 0, 0, 0x45}, Length: 5, LinkType: layers.LinkTypeNull}}, opts(nil), nil, coalesce.ReasonLinkType, 0},
		{"IPv4 total length 0 (TSO capture)", packets(one(pkt{Raw: func() []byte {
			b := tcp.Bytes()
			b[16], b[17] = 0, 0
			return b
		}()})), opts(nil), nil, coalesce.ReasonIPLength, 0},

		// A run ends where a header field differs.
		{"window differs", packets(flow(tcp, 4, from(2, func(p *pkt) { p.Win++ }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonWindow},
		{"ack differs", packets(flow(tcp, 4, from(2, func(p *pkt) { p.Ack++ }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonAck},
		{"TCP timestamp differs", packets(flow(tcp, 4, from(2, func(p *pkt) { p.TCPOpts = append([]byte(nil), tsOpt...); p.TCPOpts[7]++ }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonTCPOptions},
		{"TCP options length differs", packets(flow(tcp, 4, from(2, func(p *pkt) { p.TCPOpts = nil }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonTCPOptions},
		{"TCP reserved bits differ", packets(flow(tcp, 4, from(2, func(p *pkt) { p.Reserved = 1 }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonTCPHeader},
		{"ECE on one", packets(flow(tcp, 4, at(2, func(p *pkt) { p.Flags |= craft.ECE }))), opts(nil), []int{2}, 0, coalesce.ReasonFlagsDiffer},
		{"CWR after the first", packets(flow(tcp, 4, at(2, func(p *pkt) { p.Flags |= craft.CWR }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonCWR},
		{"PSH in the middle", packets(flow(tcp, 5, at(1, func(p *pkt) { p.Flags |= craft.PSH }))), opts(nil), []int{2, 3}, 0, coalesce.ReasonPSHFIN},
		{"TTL differs", packets(flow(tcp, 4, from(2, func(p *pkt) { p.TTL-- }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonTTL},
		{"hop limit differs", packets(flow(v6, 4, from(2, func(p *pkt) { p.TTL-- }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonTTL},
		{"TOS differs", packets(flow(tcp, 4, from(2, func(p *pkt) { p.TOS = 0x10 }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonTOS},
		{"ECN codepoint differs", packets(flow(tcp, 4, from(2, func(p *pkt) { p.TOS = 0x01 }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonTOS},
		{"traffic class differs", packets(flow(v6, 4, from(2, func(p *pkt) { p.TOS = 0x20 }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonTOS},
		{"flow label differs", packets(flow(v6, 4, from(2, func(p *pkt) { p.FlowLabel++ }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonFlowLabel},
		{"DF differs", packets(flow(tcp, 4, from(2, func(p *pkt) { p.DF = false }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonDF},
		{"IPv4 options differ", packets(flow(tcp, 4, func(k int, p *pkt) { p.IPOpts = []byte{0x94, 4, 0, byte(k / 2)} })), opts(nil), []int{2, 2}, 0, coalesce.ReasonIPOptions},
		{"IPv6 extension headers differ", packets(flow(v6, 4, func(k int, p *pkt) { p.Ext = make([]byte, 8); p.Ext[7] = byte(k / 2) })), opts(nil), []int{2, 2}, 0, coalesce.ReasonIPOptions},
		{"VLAN ID differs", packets(flow(tcp, 4, func(k int, p *pkt) { p.VLANs, p.VLANID = []uint16{craft.TPID8021Q}, uint16(200+k/2) })), opts(nil), []int{2, 2}, 0, coalesce.ReasonL2Header},
		{"IPv4 ID constant", packets(flow(tcp, 4, func(k int, p *pkt) { p.ID = 7 })), opts(nil), nil, 0, coalesce.ReasonIPID},
		{"sequence gap", packets(flow(tcp, 4, from(2, func(p *pkt) { p.Seq += 1 }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonSeq},
		{"larger segment", packets(flow(tcp, 4, at(2, func(p *pkt) { p.Payload = payloadOf(1460, 1) }))), opts(nil), []int{2, 2}, 0, coalesce.ReasonLarger},
		{"unmergeable packet of the same flow", packets(flow(tcp, 2, nil), one(func() pkt { p := tcp; p.Seq += 2 * 1448; p.Payload = nil; return p }()),
			flow(tcp, 2, func(k int, p *pkt) { p.Seq += 2 * 1448; p.ID += 3 })), opts(nil), []int{2, 2}, coalesce.ReasonNoPayload, coalesce.ReasonFlowPacket},

		// Limits.
		{"64 KiB of IP", packets(flow(tcp, 50, nil)), opts(nil), []int{45, 5}, 0, coalesce.ReasonMaxBytes},
		{"max segments", packets(flow(tcp, 10, nil)), opts(func(o *coalesce.Options) { o.MaxSegments = 4 }), []int{4, 4, 2}, 0, coalesce.ReasonMaxSegments},
		{"max span", packets(flow(tcp, 6, func(k int, p *pkt) { p.Timestamp = tcp.Timestamp.Add(time.Duration(k) * 600 * time.Microsecond) })), opts(nil), []int{2, 2, 2}, 0, coalesce.ReasonMaxSpan},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := coalesceAll(t, tc.pkts, tc.opts)
			var segs []int
			for _, m := range got.metas {
				if m.Segs > 1 {
					segs = append(segs, m.Segs)
				}
			}
			if !equalInts(segs, tc.segs) {
				t.Errorf("super-packets of %v segments, want %v", segs, tc.segs)
			}
			if tc.refused != 0 && got.stats.Refused[tc.refused] == 0 {
				t.Errorf("refusal %q not counted: %v", tc.refused, nonZero(got.stats.Refused[:]))
			}
			if tc.flush != 0 && got.stats.Flushes[tc.flush] == 0 {
				t.Errorf("flush %q not counted: %v", tc.flush, nonZero(got.stats.Flushes[:]))
			}
			restoreAll(t, tc.pkts, got)
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func nonZero(c []int64) map[string]int64 {
	m := map[string]int64{}
	for i, n := range c {
		if n > 0 {
			m[coalesce.Reason(i).String()] = n
		}
	}
	return m
}

// TestSuperPacketFormat checks the frame and header a super-packet carries:
// the lengths of the whole, the first segment's ID, the pseudo-header seed,
// and the virtio header fields for each type.
func TestSuperPacketFormat(t *testing.T) {
	tcp := tcpPkt()
	tcp.ID = 0xfffe
	pk := packets(flow(tcp, 5, func(k int, p *pkt) {
		if k == 4 {
			p.Payload = p.Payload[:200]
			p.Flags |= craft.PSH
		}
	}))
	got := coalesceAll(t, pk, coalesce.DefaultOptions())
	if len(got.recs) != 1 {
		t.Fatalf("%d records", len(got.recs))
	}
	b, m := got.recs[0].Data, got.metas[0]
	want := gso.VnetHeader{Flags: gso.NeedsCsum, GSOType: gso.TCPv4, GSOSize: 1448, HdrLen: 14 + 20 + 32, CsumStart: 34, CsumOffset: 16}
	if m.Vnet != want {
		t.Errorf("vnet %+v, want %+v", m.Vnet, want)
	}
	if n := len(b); n != 66+4*1448+200 {
		t.Errorf("frame %d bytes", n)
	}
	ip := b[14:34]
	if tot := binary.BigEndian.Uint16(ip[2:]); int(tot) != len(b)-14 {
		t.Errorf("IPv4 total length %d, want %d", tot, len(b)-14)
	}
	if id := binary.BigEndian.Uint16(ip[4:]); id != 0xfffe {
		t.Errorf("IPv4 ID %#x, want the first segment's", id)
	}
	if craft.IPv4Checksum(ip) != binary.BigEndian.Uint16(ip[10:]) {
		t.Errorf("IPv4 header checksum of the super-packet is wrong")
	}
	th := b[34:]
	if th[13] != craft.ACK|craft.PSH {
		t.Errorf("flags %#x, want ACK|PSH from the last segment", th[13])
	}
	seed := craft.PseudoSeed(ip, false, craft.TCP, len(th))
	if c := binary.BigEndian.Uint16(th[16:]); c != seed {
		t.Errorf("TCP check %#x, want pseudo-header seed %#x", c, seed)
	}
	if len(m.Deltas) != 4 || m.Deltas[0] != 10000 {
		t.Errorf("deltas %v, want 4 of 10000 ns", m.Deltas)
	}

	udp := udpPkt()
	udp.V6 = true
	got = coalesceAll(t, packets(flow(udp, 3, nil)), coalesce.DefaultOptions())
	m = got.metas[0]
	want = gso.VnetHeader{Flags: gso.NeedsCsum, GSOType: gso.UDPL4, GSOSize: 1000, HdrLen: 14 + 40 + 8, CsumStart: 54, CsumOffset: 6}
	if m.Vnet != want {
		t.Errorf("USO vnet %+v, want %+v", m.Vnet, want)
	}
	uh := got.recs[0].Data[54:]
	if l := binary.BigEndian.Uint16(uh[4:]); l != 8+3000 {
		t.Errorf("UDP length %d, want 3008", l)
	}
	if c, seed := binary.BigEndian.Uint16(uh[6:]), craft.PseudoSeed(got.recs[0].Data[14:54], true, craft.UDP, 3008); c != seed {
		t.Errorf("UDP check %#x, want pseudo-header seed %#x", c, seed)
	}

	cwr := tcpPkt()
	cwr.Flags |= craft.CWR
	got = coalesceAll(t, packets(flow(cwr, 3, func(k int, p *pkt) {
		if k > 0 {
			p.Flags &^= craft.CWR
		}
	})), coalesce.DefaultOptions())
	if g := got.metas[0].Vnet.GSOType; g != gso.TCPv4|gso.ECN {
		t.Errorf("CWR-first gso_type %#x, want tcpv4+ecn", g)
	}
}

// TestStrictAndPerFlowOrder: interleaved flows merge per flow (with skips
// recorded) and not at all in strict order; both restore the original order.
func TestStrictAndPerFlowOrder(t *testing.T) {
	a := flow(tcpPkt(), 4, nil)
	bBase := tcpPkt()
	bBase.Sport = 40001
	b := flow(bBase, 4, nil)
	var mixed []pcaps.Packet
	for i := range a {
		mixed = append(mixed, a[i].Packet(), b[i].Packet())
	}
	got := coalesceAll(t, mixed, coalesce.DefaultOptions())
	if len(got.recs) != 2 || got.metas[0].Segs != 4 || got.metas[1].Segs != 4 {
		t.Fatalf("per-flow: %d records", len(got.recs))
	}
	if s := got.metas[0].Skips; len(s) != 3 || s[0] != 1 {
		t.Errorf("skips %v, want 1 per gap", s)
	}
	restoreAll(t, mixed, got)

	o := coalesce.DefaultOptions()
	o.Order = coalesce.Strict
	got = coalesceAll(t, mixed, o)
	if got.stats.SuperPackets != 0 || got.stats.Flushes[coalesce.ReasonInterleaved] == 0 {
		t.Errorf("strict: %d super-packets, flushes %v", got.stats.SuperPackets, nonZero(got.stats.Flushes[:]))
	}
	restoreAll(t, mixed, got)
}

// TestHeldBound: a flow's open run cannot hold back more than MaxHeld
// records; past it the run is flushed, and order is still restored.
func TestHeldBound(t *testing.T) {
	a := flow(tcpPkt(), 3, nil)
	var pk []pcaps.Packet
	pk = append(pk, a[0].Packet())
	for range 20 {
		p := tcpPkt()
		p.Payload = nil
		p.Sport = 1
		pk = append(pk, p.Packet())
	}
	pk = append(pk, a[1].Packet(), a[2].Packet())
	o := coalesce.DefaultOptions()
	o.MaxHeld = 8
	got := coalesceAll(t, pk, o)
	if got.stats.Flushes[coalesce.ReasonHeld] == 0 {
		t.Errorf("no held flush: %v", nonZero(got.stats.Flushes[:]))
	}
	restoreAll(t, pk, got)
}

// TestUFOSuperPacket: a fragment train becomes the reassembled datagram with
// the header UFO needs, whose segmentation (restoreAll) gives the fragments
// back; a TCP run open in another flow keeps merging around it.
func TestUFOSuperPacket(t *testing.T) {
	ufo := udpPkt()
	ufo.DF, ufo.ID, ufo.Payload = false, 0x7777, payloadOf(4000, 3)
	tcp := flow(tcpPkt(), 2, nil)
	pk := append([]pcaps.Packet{tcp[0].Packet()}, craft.Fragments(ufo, nil, 1480)...)
	pk = append(pk, tcp[1].Packet())
	got := coalesceAll(t, pk, coalesce.DefaultOptions())
	if len(got.recs) != 2 {
		t.Fatalf("%d records, want the TCP super-packet and the UFO one", len(got.recs))
	}
	m, b := got.metas[1], got.recs[1].Data
	want := gso.VnetHeader{Flags: gso.NeedsCsum, GSOType: gso.UDP, GSOSize: 1480, HdrLen: 42, CsumStart: 34, CsumOffset: 6}
	if m.Vnet != want || m.Segs != 3 {
		t.Errorf("header %+v segs %d, want %+v segs 3", m.Vnet, m.Segs, want)
	}
	ip := b[14:34]
	if len(b) != 14+20+8+4000 || binary.BigEndian.Uint16(ip[2:]) != 20+8+4000 || ip[6] != 0 || ip[7] != 0 ||
		binary.BigEndian.Uint16(ip[4:]) != 0x7777 || binary.BigEndian.Uint16(ip[10:]) != craft.IPv4Checksum(ip) {
		t.Errorf("super-packet IP header % x (frame %d bytes)", ip, len(b))
	}
	if got.metas[0].Segs != 2 || got.stats.GSO[gso.UDP] != 1 {
		t.Errorf("TCP run of %d segments, %d UFO super-packets", got.metas[0].Segs, got.stats.GSO[gso.UDP])
	}
	restoreAll(t, pk, got)
}
