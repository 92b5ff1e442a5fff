package header

import (
	"encoding/binary"
	"math/bits"
)

// The Internet checksum (RFC 1071). Sums are kept unfolded in a uint64 so
// that pieces can be added in any order; Fold turns them into 16 bits.

// Sum adds b to acc as a sequence of big-endian 16-bit words; an odd last
// byte is padded with zero. Only the last piece of a checksum may be odd.
func Sum(b []byte, acc uint64) uint64 {
	if len(b) >= 64 {
		n := len(b) &^ 31
		acc += uint64(sumBulk(b[:n]))
		b = b[n:]
	}
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		acc += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// sumBulk sums a multiple of 32 bytes as 64-bit little-endian words with
// carry, then folds and swaps: the ones' complement sum does not depend on
// byte order except for that final swap (RFC 1071 §2B). Two carry chains,
// over alternate words, run side by side.
func sumBulk(b []byte) uint16 {
	var s, c, t, d uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b), c)
		t, d = bits.Add64(t, binary.LittleEndian.Uint64(b[8:]), d)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[16:]), c)
		t, d = bits.Add64(t, binary.LittleEndian.Uint64(b[24:]), d)
		b = b[32:]
	}
	s, c = bits.Add64(s, t, c)
	s, c = bits.Add64(s, d, c)
	s, c = bits.Add64(s, c, 0)
	s += c
	u := uint64(uint32(s)) + s>>32
	f := Fold(u)
	return f<<8 | f>>8
}

// Fold reduces a sum to 16 bits with end-around carry.
func Fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

// PseudoHeaderSum is the sum of the TCP/UDP pseudo-header: addrs is the
// source and destination address (IPv4.Addresses or IPv6.Addresses),
// l4len the upper-layer length, which enters as two 16-bit words as the
// kernel's 32-bit form does.
func PseudoHeaderSum(addrs []byte, proto uint8, l4len uint32) uint64 {
	return Sum(addrs, 0) + uint64(proto) + uint64(l4len>>16) + uint64(l4len&0xffff)
}

// ChecksumOffset is where the checksum lies in a TCP or UDP header.
func ChecksumOffset(proto uint8) int {
	if proto == ProtoUDP {
		return UDPChecksumOffset
	}
	return TCPChecksumOffset
}

// TransportChecksum is the checksum a correct sender writes into the TCP or
// UDP header l4 (header and payload; its checksum field counted as zero)
// under the addresses addrs. UDP's 0 is sent as 0xFFFF (RFC 768); TCP keeps 0.
func TransportChecksum(addrs []byte, proto uint8, l4 []byte) uint16 {
	off := ChecksumOffset(proto)
	acc := PseudoHeaderSum(addrs, proto, uint32(len(l4)))
	acc = Sum(l4[:off], acc)
	acc = Sum(l4[off+2:], acc)
	c := ^Fold(acc)
	if c == 0 && proto == ProtoUDP {
		c = 0xffff
	}
	return c
}
