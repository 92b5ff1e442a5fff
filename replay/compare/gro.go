package compare

import (
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
)

// GROFrames gives the frames a packet that GRO handed up stands for: the
// packet itself when GRO left it alone (no gso_type), else the reference
// segmentation by its virtio header (merged). A GRO packet the segmenter
// refuses is an error: no frames can be told from it. The frames are
// seg's, valid until its next use.
func GROFrames(seg *gso.Segmenter, packet []byte, h gso.VnetHeader) (frames [][]byte, merged bool, err error) {
	if h.GSOType == gso.None {
		return [][]byte{packet}, false, nil
	}
	frames, err = seg.Segment(packet, layers.LinkTypeEthernet, h)
	return frames, true, err
}
