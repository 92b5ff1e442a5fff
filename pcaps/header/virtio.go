package header

import "encoding/binary"

// VirtioNetHdrSize is struct virtio_net_hdr, the legacy header without
// num_buffers.
const VirtioNetHdrSize = 10

// VirtioNetHdr is struct virtio_net_hdr (include/uapi/linux/virtio_net.h),
// the header before a frame on a packet socket with PACKET_VNET_HDR or a
// tap with IFF_VNET_HDR. Its integers are little endian, as packet sockets
// use them on x86 and arm64; offsets count from the first byte of the frame.
type VirtioNetHdr []byte

// IsValid reports whether b holds the 10-byte header.
func (b VirtioNetHdr) IsValid() bool { return len(b) >= VirtioNetHdrSize }

// Flags is the flags byte (VIRTIO_NET_HDR_F_*).
func (b VirtioNetHdr) Flags() uint8 { return b[0] }

// GSOType is the gso_type byte (VIRTIO_NET_HDR_GSO_*).
func (b VirtioNetHdr) GSOType() uint8 { return b[1] }

// HdrLen is hdr_len.
func (b VirtioNetHdr) HdrLen() uint16 { return binary.LittleEndian.Uint16(b[2:4]) }

// GSOSize is gso_size.
func (b VirtioNetHdr) GSOSize() uint16 { return binary.LittleEndian.Uint16(b[4:6]) }

// CsumStart is csum_start.
func (b VirtioNetHdr) CsumStart() uint16 { return binary.LittleEndian.Uint16(b[6:8]) }

// CsumOffset is csum_offset.
func (b VirtioNetHdr) CsumOffset() uint16 { return binary.LittleEndian.Uint16(b[8:10]) }

// VirtioNetHdrFields are the fields of a virtio_net_hdr, for Encode.
type VirtioNetHdrFields struct {
	Flags, GSOType                         uint8
	HdrLen, GSOSize, CsumStart, CsumOffset uint16
}

// Encode writes every field.
func (b VirtioNetHdr) Encode(f *VirtioNetHdrFields) {
	b[0], b[1] = f.Flags, f.GSOType
	binary.LittleEndian.PutUint16(b[2:4], f.HdrLen)
	binary.LittleEndian.PutUint16(b[4:6], f.GSOSize)
	binary.LittleEndian.PutUint16(b[6:8], f.CsumStart)
	binary.LittleEndian.PutUint16(b[8:10], f.CsumOffset)
}
