package gso

import (
	"fmt"

	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Offsets locate the headers of a TCP frame: network header, TCP header and
// the end of the TCP header, counted from the first byte of the frame.
type Offsets struct {
	L3, L4, HdrEnd int
	V6             bool
}

// BuildTSO turns a TCP super-frame captured whole on a TSO/GRO host into
// what AF_PACKET needs to segment it with gsoSize: IP lengths of the whole
// (0 above 65535), IPv4 header checksum, the pseudo-header checksum seed,
// and the virtio header. It works in place and returns the header and the
// number of segments the kernel will make.
func BuildTSO(frame []byte, o Offsets, gsoSize int) (VnetHeader, int, error) {
	payload := len(frame) - o.HdrEnd
	if gsoSize < MinTCPSize || gsoSize > 0xfffe {
		return VnetHeader{}, 0, fmt.Errorf("gso_size %d out of range", gsoSize)
	}
	if payload <= gsoSize {
		return VnetHeader{}, 0, fmt.Errorf("payload %d fits one segment of %d", payload, gsoSize)
	}
	if o.V6 {
		header.IPv6(frame[o.L3:]).SetPayloadLength(LenOrZero(len(frame) - o.L3 - header.IPv6MinimumSize))
	} else {
		ip := header.IPv4(frame[o.L3:o.L4])
		ip.SetTotalLength(LenOrZero(len(frame) - o.L3))
		ip.UpdateChecksum()
	}
	l4 := frame[o.L4:]
	SeedChecksum(frame[o.L3:o.L4], o.V6, header.ProtoTCP, l4, uint32(len(l4)))
	h := VnetHeader{Flags: NeedsCsum, GSOType: TCPv4, GSOSize: uint16(gsoSize), HdrLen: uint16(o.HdrEnd),
		CsumStart: uint16(o.L4), CsumOffset: header.TCPChecksumOffset}
	if o.V6 {
		h.GSOType = TCPv6
	}
	return h, (payload + gsoSize - 1) / gsoSize, nil
}

// SeedChecksum writes into a super-packet's TCP or UDP header the folded
// pseudo-header sum over l4len bytes that NEEDS_CSUM requires, and returns it.
func SeedChecksum(ip []byte, v6 bool, proto uint8, l4 []byte, l4len uint32) uint16 {
	c := header.Fold(header.PseudoHeaderSum(addresses(ip, v6), proto, l4len))
	off := header.ChecksumOffset(proto)
	l4[off], l4[off+1] = byte(c>>8), byte(c)
	return c
}
