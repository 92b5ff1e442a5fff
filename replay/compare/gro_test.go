package compare

import (
	"bytes"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/superpacket"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// TestGROFrames: a packet GRO left alone stands for itself; a merged one
// for the frames the craft builder made of the flow (the oracle), however
// it was merged; one the segmenter refuses is an error, still merged.
func TestGROFrames(t *testing.T) {
	var seg gso.Segmenter
	for _, base := range []craft.Frame{craft.TCPBulk(), craft.UDPBulk()} {
		flow := craft.Packets(craft.Flow(base, 4, nil))
		frame, h, err := superpacket.Merge(flow, coalesce.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		frames, merged, err := GROFrames(&seg, frame, h)
		if err != nil || !merged || len(frames) != len(flow) {
			t.Fatalf("%s: %d frames, merged %v, %v; want %d", h.GSOType, len(frames), merged, err, len(flow))
		}
		for i, p := range flow {
			if !bytes.Equal(frames[i], p.Data) {
				t.Errorf("%s: frame %d: %s", h.GSOType, i+1, Diff(p.Data, frames[i]))
			}
		}
		bad := h
		bad.GSOSize = 0
		if _, merged, err := GROFrames(&seg, frame, bad); err == nil || !merged {
			t.Errorf("%s with gso_size 0: merged %v, %v; want an error", h.GSOType, merged, err)
		}
	}
	alone := craft.TCPBulk().Bytes()
	frames, merged, err := GROFrames(&seg, alone, gso.VnetHeader{})
	if err != nil || merged || len(frames) != 1 || !bytes.Equal(frames[0], alone) {
		t.Errorf("a frame alone: %d frames, merged %v, %v", len(frames), merged, err)
	}
}
