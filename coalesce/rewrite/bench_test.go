package rewrite_test

import (
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// BenchmarkFrame edits full-size TCP segments in place with an address
// map, a MAC and a TTL, as a replay does: no allocation per frame.
func BenchmarkFrame(b *testing.B) {
	o := rewrite.Options{VLANTag: -1, VLANPri: -1, VLANCFI: -1, TTL: rewrite.TTLSet, TTLValue: 33}
	var err error
	if o.PNAT[0], err = rewrite.ParseCIDRMaps("PNAT", "10.0.0.0/24:192.168.7.0/24"); err != nil {
		b.Fatal(err)
	}
	if o.DstMAC, err = rewrite.ParseMACs("DstMAC", "02:11:22:33:44:55"); err != nil {
		b.Fatal(err)
	}
	rw, err := rewrite.New(o)
	if err != nil {
		b.Fatal(err)
	}
	orig := craft.TCPBulk().Bytes()
	frame := make([]byte, len(orig))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for range b.N {
		copy(frame, orig) // each time the original: every edit is made
		rw.FrameInPlace(frame, 1, len(frame), rewrite.Primary)
	}
}
