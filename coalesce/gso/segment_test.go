package gso_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/superpacket"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// coalesced merges a flow into one super-packet with the coalescer.
func coalesced(ps []craft.Frame) ([]byte, gso.VnetHeader, error) {
	return superpacket.Merge(craft.Packets(ps), coalesce.DefaultOptions())
}

// superOf is coalesced for tests.
func superOf(t testing.TB, ps []craft.Frame) ([]byte, gso.VnetHeader) {
	t.Helper()
	frame, h, err := coalesced(ps)
	if err != nil {
		t.Fatal(err)
	}
	return frame, h
}

func flow(base craft.Frame, n int, mut func(k int, p *craft.Frame)) []craft.Frame {
	return craft.Flow(base, n, mut)
}

// TestSegmentValidation follows docs/kernel.md §4: which headers the kernel
// refuses (EINVAL), which it accepts but cannot segment (drop), which it
// sends as a single frame.
func TestSegmentValidation(t *testing.T) {
	frame, h := superOf(t, flow(craft.TCPBulk(), 3, nil))
	uframe, uh := superOf(t, flow(craft.UDPBulk(), 3, nil))
	cases := []struct {
		name  string
		frame []byte
		h     func(gso.VnetHeader) gso.VnetHeader
		err   error
		segs  int
	}{
		{"valid", frame, func(h gso.VnetHeader) gso.VnetHeader { return h }, nil, 3},
		{"gso_type 2", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOType = 2; return h }, gso.ErrInvalid, 0},
		{"gso_type 6", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOType = 6; return h }, gso.ErrInvalid, 0},
		{"AccECN bit", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOType |= 0x10; return h }, gso.ErrInvalid, 0},
		{"TCPV4|ECN accepted", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOType |= gso.ECN; return h }, nil, 3},
		{"gso_size 0", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOSize = 0; return h }, gso.ErrInvalid, 0},
		{"gso_size 0xFFFF", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOSize = 0xffff; return h }, gso.ErrInvalid, 0},
		{"gso_size 1", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOSize = 1; return h }, nil, 3 * 1448},
		{"gso_size within the options", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOSize = 3 * 1448; return h }, gso.ErrSegment, 0},
		{"gso_size beyond payload+options", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOSize = 3*1448 + 12; return h }, nil, 1},
		{"hdr_len 0", frame, func(h gso.VnetHeader) gso.VnetHeader { h.HdrLen = 0; return h }, nil, 3},
		{"hdr_len beyond the frame", frame, func(h gso.VnetHeader) gso.VnetHeader { h.HdrLen = uint16(len(frame) + 1); return h }, gso.ErrInvalid, 0},
		{"csum_offset 6 with TCP", frame, func(h gso.VnetHeader) gso.VnetHeader { h.CsumOffset = 6; return h }, gso.ErrInvalid, 0},
		{"csum_start 14", frame, func(h gso.VnetHeader) gso.VnetHeader { h.CsumStart = 14; return h }, gso.ErrInvalid, 0},
		{"TCPV6 on IPv4", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOType = gso.TCPv6; return h }, gso.ErrInvalid, 0},
		{"csum_start inside the IP header", frame, func(h gso.VnetHeader) gso.VnetHeader { h.CsumStart = 24; return h }, gso.ErrSegment, 0},
		{"csum_start beyond the frame", frame, func(h gso.VnetHeader) gso.VnetHeader { h.CsumStart = uint16(len(frame)); return h }, gso.ErrInvalid, 0},
		{"no NEEDS_CSUM", frame, func(h gso.VnetHeader) gso.VnetHeader { h.Flags = 0; return h }, nil, 3},
		{"TCPV4 on UDP", uframe, func(h gso.VnetHeader) gso.VnetHeader { h.GSOType, h.CsumOffset = gso.TCPv4, 16; return h }, gso.ErrSegment, 0},
		{"USO on TCP", frame, func(h gso.VnetHeader) gso.VnetHeader { h.GSOType = gso.UDPL4; return h }, gso.ErrInvalid, 0},
		{"USO valid", uframe, func(h gso.VnetHeader) gso.VnetHeader { return h }, nil, 3},
		{"USO without NEEDS_CSUM", uframe, func(h gso.VnetHeader) gso.VnetHeader { h.Flags = 0; return h }, gso.ErrInvalid, 0},
		{"USO with ECN", uframe, func(h gso.VnetHeader) gso.VnetHeader { h.GSOType |= gso.ECN; return h }, gso.ErrInvalid, 0},
		{"USO over 128 segments", uframe, func(h gso.VnetHeader) gso.VnetHeader { h.GSOSize = 20; return h }, gso.ErrInvalid, 0},
		{"USO csum_offset 16", uframe, func(h gso.VnetHeader) gso.VnetHeader { h.CsumOffset = 16; return h }, gso.ErrInvalid, 0},
		{"gso none", frame, func(h gso.VnetHeader) gso.VnetHeader { return gso.VnetHeader{} }, nil, 1},
		{"13-byte frame", frame[:13], func(h gso.VnetHeader) gso.VnetHeader { return gso.VnetHeader{} }, gso.ErrInvalid, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s gso.Segmenter
			hh := h
			if len(tc.frame) > 23 && tc.frame[23] == craft.UDP {
				hh = uh
			}
			segs, err := s.Segment(append([]byte(nil), tc.frame...), layers.LinkTypeEthernet, tc.h(hh))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) != tc.segs {
				t.Fatalf("%d segments, want %d", len(segs), tc.segs)
			}
		})
	}
}

// TestSegmentGarbageSeed: with NEEDS_CSUM the kernel trusts the seed, so a
// wrong one gives wrong checksums on every segment; without NEEDS_CSUM the
// checksum is computed afresh.
func TestSegmentGarbageSeed(t *testing.T) {
	orig := flow(craft.TCPBulk(), 3, nil)
	frame, h := superOf(t, orig)
	frame[34+16] ^= 0x11
	var s gso.Segmenter
	segs, err := s.Segment(frame, layers.LinkTypeEthernet, h)
	if err != nil {
		t.Fatal(err)
	}
	for k, seg := range segs {
		want := orig[k].Bytes()
		if binary.BigEndian.Uint16(seg[50:]) == binary.BigEndian.Uint16(want[50:]) {
			t.Errorf("segment %d: checksum right despite a wrong seed", k)
		}
	}
	h.Flags = 0
	segs, err = s.Segment(frame, layers.LinkTypeEthernet, h)
	if err != nil {
		t.Fatal(err)
	}
	for k, seg := range segs {
		if string(seg) != string(orig[k].Bytes()) {
			t.Errorf("segment %d differs without NEEDS_CSUM", k)
		}
	}
}

// TestSegmentUFO: an IPv4 UDP datagram with GSO_UDP becomes fragments of
// gso_size bytes of IP payload sharing the ID, MF on all but the last.
func TestSegmentUFO(t *testing.T) {
	p := craft.UDPBulk()
	p.Payload = craft.Payload(3000, 3)
	frame := p.Bytes()
	var s gso.Segmenter
	segs, err := s.Segment(frame, layers.LinkTypeEthernet, gso.VnetHeader{GSOType: gso.UDP, GSOSize: 1480})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 3 {
		t.Fatalf("%d fragments", len(segs))
	}
	for k, seg := range segs {
		ip := seg[14:34]
		fo := binary.BigEndian.Uint16(ip[6:])
		wantFO := uint16(k * 1480 / 8)
		if k < 2 {
			wantFO |= 0x2000
		}
		if fo != wantFO || binary.BigEndian.Uint16(ip[4:]) != p.ID || craft.IPv4Checksum(ip) != binary.BigEndian.Uint16(ip[10:]) {
			t.Errorf("fragment %d: frag %#x id %#x", k, fo, binary.BigEndian.Uint16(ip[4:]))
		}
	}
	if string(segs[0][34:42]) != string(frame[34:42]) {
		t.Errorf("first fragment's UDP header differs from the datagram's")
	}
}

// TestSegmentIPv6Jumbo: a BIG TCP super-packet with the IPv6 jumbo header
// (coalesce's IPv6Jumbo) segments into the crafted frames it came from,
// without the header, as Linux 6.0 to 6.19's ipv6_gso_segment gives them;
// so does a BIG TCP frame Linux wrote (tcpdump's test capture), whose
// segments gopacket reads without the header and with right checksums.
func TestSegmentIPv6Jumbo(t *testing.T) {
	v6 := craft.TCPBulk6()
	segs := flow(v6, 100, nil)
	o := coalesce.DefaultOptions()
	o.MaxBytes, o.MaxSegments, o.MaxSpan, o.IPv6Jumbo = coalesce.MaxBytesMax, coalesce.MaxSegs, 0, true
	frame, h, err := superpacket.Merge(craft.Packets(segs), o)
	if err != nil {
		t.Fatal(err)
	}
	if frame[14+6] != 0 {
		t.Fatalf("next header %d: no jumbo header", frame[14+6])
	}
	var s gso.Segmenter
	out, err := s.Segment(frame, layers.LinkTypeEthernet, h)
	if err != nil {
		t.Fatal(err)
	}
	want := craft.Packets(segs)
	if len(out) != len(want) {
		t.Fatalf("%d segments, want %d", len(out), len(want))
	}
	for k := range out {
		if !bytes.Equal(out[k], want[k].Data) {
			t.Fatalf("segment %d differs from the crafted frame", k+1)
		}
	}
	if n, err := s.Count(frame, layers.LinkTypeEthernet, h); n != len(want) || err != nil {
		t.Fatalf("Count: %d, %v", n, err)
	}

	data, err := os.ReadFile("../../../shared/corpus/tcpdump__bigtcp-ipv6-hbh.pcap")
	if err != nil {
		testenv.Missing(t, "the corpus: "+err.Error())
	}
	big := append([]byte(nil), data[24+16:]...)
	const mss = 1428
	bh, n, err := gso.BuildTSO(big, gso.Offsets{L3: 14, L4: 14 + 48, HdrEnd: 14 + 48 + 32, V6: true}, mss)
	if err != nil {
		t.Fatal(err)
	}
	out, err = s.Segment(big, layers.LinkTypeEthernet, bh)
	if err != nil || len(out) != n {
		t.Fatalf("%d segments (want %d), %v", len(out), n, err)
	}
	var payload []byte
	for k, seg := range out {
		pk := gopacket.NewPacket(seg, layers.LinkTypeEthernet, gopacket.Default)
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || pk.Layer(layers.LayerTypeIPv6HopByHop) != nil {
			t.Fatalf("segment %d: gopacket reads %v", k+1, pk)
		}
		if err := tcp.SetNetworkLayerForChecksum(pk.NetworkLayer()); err != nil {
			t.Fatal(err)
		}
		// Summed with the checksum in place, a right one folds to 0.
		if c, err := tcp.ComputeChecksum(); err != nil || c != 0 {
			t.Fatalf("segment %d: TCP checksum %#x wrong: gopacket's sum %#x (%v)", k+1, tcp.Checksum, c, err)
		}
		payload = append(payload, tcp.Payload...)
	}
	if !bytes.Equal(payload, big[14+48+32:]) {
		t.Fatalf("the segments' payload differs from the frame's")
	}
}
