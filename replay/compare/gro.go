package compare

import (
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
)

// GROFrames gives the frames a packet that GRO handed up stands for: the
// packet itself when GRO left it alone (no gso_type; its checksum finished
// if NEEDS_CSUM), else the reference segmentation by its virtio header
// (merged). A GRO packet the segmenter
// refuses is an error: no frames can be told from it. The frames are
// seg's, valid until its next use.
func GROFrames(seg *gso.Segmenter, packet []byte, h gso.VnetHeader) (frames [][]byte, merged bool, err error) {
	if h.GSOType == gso.None {
		if h.Flags&gso.NeedsCsum != 0 {
			// Its checksum left for the device (CHECKSUM_PARTIAL, from a
			// sender with checksum offload): finished, as on the wire.
			frames, err = seg.Segment(packet, layers.LinkTypeEthernet, h)
			return frames, false, err
		}
		return [][]byte{packet}, false, nil
	}
	frames, err = seg.Segment(packet, layers.LinkTypeEthernet, h)
	return frames, true, err
}
