package gso_test

import (
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/superpacket"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// FuzzSegment: any frame and virtio header, never a panic; every segment
// stays within what the frame could produce.
func FuzzSegment(f *testing.F) {
	frame, h := superOf(f, flow(craft.TCPBulk(), 3, nil))
	var hb [gso.VnetHeaderLen]byte
	h.Encode(hb[:])
	f.Add(frame, hb[:])
	// An IPv6 BIG TCP super-packet with the jumbo option, which the
	// segmenter takes off.
	v6 := craft.TCPBulk6()
	o := coalesce.DefaultOptions()
	o.MaxBytes, o.MaxSegments, o.IPv6Jumbo = 1<<20, 64, true
	frame, h, err := superpacket.Merge(craft.Packets(flow(v6, 50, nil)), o)
	if err != nil {
		f.Fatal(err)
	}
	h.Encode(hb[:])
	f.Add(frame, hb[:])
	// A VXLAN super-packet with the 24-byte tunnel header.
	vx := craft.TCPBulk()
	vx.Payload, vx.Tunnel = craft.Payload(1398, 0), craft.VXLANTunnel()
	vx.Tunnel.ZeroCsum = false
	o = coalesce.DefaultOptions()
	o.TunnelGSO = true
	frame, h, err = superpacket.Merge(craft.Packets(flow(vx, 5, nil)), o)
	if err != nil {
		f.Fatal(err)
	}
	var tb [gso.VnetTunnelHeaderLen]byte
	h.EncodeTunnel(tb[:])
	f.Add(frame, tb[:])
	f.Fuzz(func(t *testing.T, frame, hdr []byte) {
		h, err := gso.DecodeVnet(hdr)
		if err != nil {
			return
		}
		var s gso.Segmenter
		n, cerr := s.Count(frame, layers.LinkTypeEthernet, h)
		segs, err := s.Segment(frame, layers.LinkTypeEthernet, h)
		if (err == nil) != (cerr == nil) || (err == nil && n != len(segs)) {
			t.Fatalf("Count %d, %v; Segment %d frames, %v", n, cerr, len(segs), err)
		}
		if err != nil {
			return
		}
		if len(segs) == 0 || len(segs) > 65535 /* dev->gso_max_segs */ {
			t.Fatalf("%d segments", len(segs))
		}
	})
}

// BenchmarkSegment: the reference segmenter on 45-segment TCPv4 super-packets.
func BenchmarkSegment(b *testing.B) {
	frame, h := superOf(b, flow(craft.TCPBulk(), 45, nil))
	var s gso.Segmenter
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := s.Segment(frame, layers.LinkTypeEthernet, h); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*45)/b.Elapsed().Seconds(), "packets/s")
}
