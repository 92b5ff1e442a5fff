package gso_test

import (
	"bytes"
	"fmt"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// The reference segmenter cuts a coalesced super-packet back into the very
// frames that were merged.
func ExampleSegmenter_Segment() {
	orig := craft.Flow(craft.TCPBulk(), 3, nil)
	frame, h, err := coalesced(orig)
	if err != nil {
		panic(err)
	}

	var s gso.Segmenter
	segs, err := s.Segment(frame, layers.LinkTypeEthernet, h)
	if err != nil {
		panic(err)
	}
	for k, seg := range segs {
		fmt.Printf("segment %d: %d bytes, as captured: %v\n", k, len(seg), bytes.Equal(seg, orig[k].Bytes()))
	}
	// Output:
	// segment 0: 1514 bytes, as captured: true
	// segment 1: 1514 bytes, as captured: true
	// segment 2: 1514 bytes, as captured: true
}

// A super-packet's virtio_net_hdr as a packet socket reads it: ten bytes,
// little endian.
func ExampleDecodeVnetHeader() {
	wire := []byte{0x01, 0x04, 0x4a, 0x00, 0x94, 0x05, 0x36, 0x00, 0x10, 0x00}
	h, err := gso.DecodeVnetHeader(wire)
	if err != nil {
		panic(err)
	}
	fmt.Printf("flags=%s gso=%s gso_size=%d hdr_len=%d csum_start=%d csum_offset=%d\n",
		h.Flags, h.GSOType, h.GSOSize, h.HdrLen, h.CsumStart, h.CsumOffset)
	var back [gso.VnetHeaderLen]byte
	h.Encode(back[:])
	fmt.Println(bytes.Equal(back[:], wire))
	// Output:
	// flags=needs_csum gso=tcpv6 gso_size=1428 hdr_len=74 csum_start=54 csum_offset=16
	// true
}
