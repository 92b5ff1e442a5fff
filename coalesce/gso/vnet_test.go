package gso_test

import (
	"bytes"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
)

// TestVnetHeaderWire: Encode writes struct virtio_net_hdr's layout, little
// endian, and DecodeVnetHeader reads it back; fewer than VnetHeaderLen
// bytes are no header.
func TestVnetHeaderWire(t *testing.T) {
	b := make([]byte, gso.VnetHeaderLen)
	gso.VnetHeader{Flags: 1, GSOType: 4, HdrLen: 0x4a, GSOSize: 1428, CsumStart: 54, CsumOffset: 16}.Encode(b)
	want := []byte{1, 4, 0x4a, 0, 0x94, 0x05, 54, 0, 16, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded % x, want % x", b, want)
	}
	v, err := gso.DecodeVnetHeader(b)
	if err != nil || v.Flags != 1 || v.GSOType != 4 || v.HdrLen != 0x4a || v.GSOSize != 1428 || v.CsumStart != 54 || v.CsumOffset != 16 {
		t.Errorf("decoded fields disagree with the bytes: %+v, %v", v, err)
	}
	if _, err := gso.DecodeVnetHeader(b[:9]); err == nil {
		t.Error("9 bytes valid")
	}
}
