package coalesce_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"

	"github.com/gopacket/gopacket/layers"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// fuzzPackets decodes fuzz input into a capture: mostly segments of two TCP
// flows and one UDP flow, each changed in a way the input picks, and IPv4
// fragment trains, whole or damaged, so that merges, refusals and
// interleavings all happen.
func fuzzPackets(data []byte) []pcaps.Packet {
	bases := []pkt{tcpPkt(), tcpPkt(), udpPkt(), tcpPkt()}
	bases[1].V6, bases[1].Sport = true, 7
	bases[2].Payload = payloadOf(200, 0)
	bases[3].Sport, bases[3].Tunnel = 9, craft.VXLANTunnel() // a VXLAN flow
	seq := []uint32{1000, 1000, 0, 1000}
	id := []uint16{0xfff0, 0, 0, 0}
	tid := uint16(0xfffe) // the tunnel's outer IPv4 ID
	ts := time.Unix(1700000000, 0)
	var out []pcaps.Packet
	for len(data) >= 4 && len(out) < 300 {
		op, v, size, which := data[0], data[1], int(data[2]), int(data[3]%4)
		data = data[4:]
		p := bases[which]
		p.Seq, p.ID, p.Tunnel.ID = seq[which], id[which], tid
		n := len(p.Payload)
		if op%20 == 16 {
			fr := fuzzTrain(bases[2], id[2], v, size)
			for i := range fr {
				ts = ts.Add(time.Microsecond)
				fr[i].Timestamp = ts
			}
			out = append(out, fr...)
			id[2]++
			continue
		}
		switch op % 20 {
		case 0:
			n = size*8 + 1 // short or larger
		case 1:
			p.Flags |= []uint8{craft.PSH, craft.FIN, craft.CWR, craft.ECE, craft.SYN, craft.RST, craft.URG, 0}[v%8]
		case 2:
			p.Win += uint16(v % 2)
		case 3:
			p.TTL += v % 2
		case 4:
			p.TOS = v
		case 5:
			p.ID += uint16(v % 3)
		case 6:
			p.Seq += uint32(v % 3)
		case 7:
			p.VLANs = [][]uint16{nil, {craft.TPID8021Q}, {craft.TPID8021AD, craft.TPID8021Q}}[v%3]
		case 8:
			p.IPOpts = [][]byte{nil, {0x94, 4, 0, 0}, {1, 1, 1, 1}}[v%3]
		case 9:
			p.Padding = int(v % 8)
		case 10:
			p.BadL4 = v%2 == 0
		case 11:
			n = 0
		case 12:
			p.DF = v%2 == 0
		case 13:
			p.Truncate = int(v%4) * 10
		case 14:
			p.FlowLabel = uint32(v % 2)
		case 15:
			if p.Tunnel.Kind != craft.NoTunnel {
				switch v % 5 {
				case 0:
					p.Tunnel.ZeroCsum = false
				case 1:
					p.Tunnel.Sport++
				case 2:
					p.Tunnel.TTL--
				case 3:
					p.Tunnel.ID++
				case 4:
					p.Tunnel.V6, p.Tunnel.ZeroCsum = true, false
				}
			}
		}
		p.Payload = payloadOf(n, v)
		ts = ts.Add(time.Duration(size) * time.Microsecond)
		p.Timestamp = ts
		pp := p.Packet()
		out = append(out, pp)
		seq[which] += uint32(n)
		id[which]++
		if which == 3 {
			tid++
		}
	}
	return out
}

// fuzzTrain is one UDP datagram of 8·size+16 bytes cut into IPv4 fragments
// of 8, 32, 56 or 80 bytes, then damaged as v says: a field changed on the
// second fragment, the second dropped, the last two swapped, the checksum
// wrong or zero, DF set.
func fuzzTrain(base pkt, id uint16, v byte, size int) []pcaps.Packet {
	base.DF, base.ID, base.Payload = v&0x03 == 3, id, payloadOf(size*8+8, v)
	base.BadL4, base.ZeroUDP = v&0x0c == 4, v&0x0c == 8
	mut := func(k int, ip []byte) {
		if k == 1 {
			switch v >> 4 & 3 {
			case 1:
				ip[1]++
			case 2:
				ip[8]++
			}
		}
	}
	fr := craft.Fragments(base, mut, 8+24*int(v&3))
	if v&0x80 != 0 && len(fr) > 2 {
		fr = append(fr[:1], fr[2:]...)
	}
	if v&0x40 != 0 && len(fr) > 2 {
		n := len(fr)
		fr[n-1], fr[n-2] = fr[n-2], fr[n-1]
	}
	return fr
}

// fuzzOptions are the coalescer settings the fuzz targets try: the
// defaults, and small limits so that every flush path runs.
var fuzzOptions = []coalesce.Options{
	coalesce.DefaultOptions(),
	{Order: coalesce.Strict, MaxSegments: 5, MaxBytes: 6000, MaxSpan: 300 * time.Microsecond, TunnelGSO: true},
	{Order: coalesce.PerFlow, MaxSegments: 3, MaxHeld: 4, MaxFlows: 1},
}

// FuzzRoundTrip: segment(coalesce(x)) == x for generated captures, in both
// orders and with small limits so that every flush path runs.
func FuzzRoundTrip(f *testing.F) {
	f.Add(bytes.Repeat([]byte{15, 0, 10, 0}, 20))
	f.Add([]byte{15, 0, 1, 0, 15, 0, 1, 1, 15, 0, 1, 0, 1, 0, 1, 0, 15, 0, 1, 2, 15, 0, 1, 2, 0, 3, 1, 2})
	f.Add([]byte{15, 0, 1, 0, 7, 1, 1, 0, 7, 1, 1, 0, 8, 1, 0, 1, 8, 1, 0, 1, 1, 2, 0, 0, 15, 0, 0, 0})
	f.Add([]byte{16, 1, 40, 0, 15, 0, 1, 0, 16, 0x12, 20, 0, 16, 0x80, 30, 2, 15, 0, 1, 1, 16, 0x42, 9, 0, 16, 4, 9, 0})
	f.Add([]byte{17, 0, 1, 3, 17, 0, 1, 3, 17, 0, 1, 3, 15, 3, 1, 3, 17, 0, 1, 3, 15, 1, 1, 3, 17, 0, 1, 3, 17, 0, 1, 0, 17, 0, 1, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		pk := fuzzPackets(data)
		for _, o := range fuzzOptions {
			restoreAll(t, pk, coalesceAll(t, pk, o))
		}
	})
}

// FuzzCoalesceFrames feeds arbitrary frames of every supported link type:
// no panic, and the round trip holds whatever the bytes.
func FuzzCoalesceFrames(f *testing.F) {
	f.Add(tcpPkt().Bytes(), uint8(0))
	f.Add(udpPkt().Bytes(), uint8(1))
	f.Fuzz(func(t *testing.T, frame []byte, lt uint8) {
		lts := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw, layers.LinkTypeNull}
		var pk []pcaps.Packet
		for k := range 3 {
			p := pcaps.Packet{Data: frame, Length: len(frame), LinkType: lts[int(lt)%len(lts)], Timestamp: time.Unix(int64(k), 0)}
			pk = append(pk, p)
		}
		restoreAll(t, pk, coalesceAll(t, pk, coalesce.DefaultOptions()))
	})
}

// FuzzParseComment: no panic, and what parses prints back the same.
func FuzzParseComment(f *testing.F) {
	f.Add("vnet flags=needs_csum gso=tcpv4 gso_size=1448 hdr_len=66 csum_start=34 csum_offset=16 segs=3 dt=10,20 skip=0,4")
	f.Add("vnet flags=needs_csum|0x40 gso=udp_l4+ecn gso_size=1 segs=1")
	f.Fuzz(func(t *testing.T, s string) {
		var m coalesce.Meta
		ok, err := coalesce.ParseComment(s, &m)
		if !ok || err != nil {
			return
		}
		out := string(coalesce.AppendComment(nil, &m))
		var m2 coalesce.Meta
		if ok, err := coalesce.ParseComment(out, &m2); !ok || err != nil {
			t.Fatalf("reparse of %q: %v", out, err)
		}
		if out2 := string(coalesce.AppendComment(nil, &m2)); out2 != out {
			t.Fatalf("%q -> %q", out, out2)
		}
	})
}

// FuzzTCPView: Parse and ParseTunnel read any frame without panic, their
// offsets in order and inside it; a tunnel frame built into a super-packet
// segments, if at all, into as many segments as BuildTSO counts, whose
// inner payloads put together are the frame's.
func FuzzTCPView(f *testing.F) {
	vx := tcpPkt()
	vx.Tunnel = craft.VXLANTunnel()
	vx.Payload = payloadOf(3000, 0)
	f.Add(vx.Bytes(), uint16(1000))
	f.Add(tcpPkt().Bytes(), uint16(500))
	// IPv4 header lengths below 20, outer and inner (BuildTSO panicked).
	for _, at := range []int{14, 14 + 20 + 8 + 8 + 14} {
		bad := vx.Bytes()
		bad[at] = 0x42
		f.Add(bad, uint16(1000))
	}
	f.Fuzz(func(t *testing.T, frame []byte, mss uint16) {
		var v coalesce.TCPView
		if v.Parse(frame, layers.LinkTypeEthernet, 0) && !(v.L3 < v.L4 && v.L4 < v.HdrEnd && v.HdrEnd <= len(frame)) {
			t.Fatalf("Parse offsets %+v of a %d-byte frame", v.Offsets, len(frame))
		}
		if !v.ParseTunnel(frame, 0) {
			return
		}
		o := v.Offsets
		if !(o.Outer.L3 < o.Outer.L4 && o.Outer.L4 < o.L3 && o.L3 < o.L4 && o.L4 < o.HdrEnd && o.HdrEnd <= len(frame)) {
			t.Fatalf("ParseTunnel offsets %+v of a %d-byte frame", o, len(frame))
		}
		payload := append([]byte(nil), frame[o.HdrEnd:]...)
		h, n, err := gso.BuildTSO(frame, o, int(mss))
		if err != nil {
			return
		}
		var s gso.Segmenter
		segs, err := s.Segment(frame, layers.LinkTypeEthernet, h)
		if err != nil {
			return
		}
		if len(segs) != n {
			t.Fatalf("%d segments, BuildTSO counted %d", len(segs), n)
		}
		var got []byte
		for _, sg := range segs {
			got = append(got, sg[o.HdrEnd:]...)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("the segments' payload differs from the frame's")
		}
	})
}
