package coalesce

import (
	"encoding/binary"
	"math/bits"
)

// Internet checksum helpers (RFC 1071). Sums are kept unfolded in a uint64 so
// that pieces can be added in any order; fold turns them into 16 bits.

// sum adds b to acc as a sequence of big-endian 16-bit words; an odd last
// byte is padded with zero. Only the last piece of a checksum may be odd.
func sum(b []byte, acc uint64) uint64 {
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
// byte order except for that final swap (RFC 1071 §2B).
func sumBulk(b []byte) uint16 {
	var s, c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[8:]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[16:]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	s, c = bits.Add64(s, c, 0)
	s += c
	t := uint64(uint32(s)) + s>>32
	f := fold(t)
	return f<<8 | f>>8
}

// fold reduces a sum to 16 bits with end-around carry.
func fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

// pseudoSum is the sum of the TCP/UDP pseudo-header. l4len is the upper-layer
// length; it enters as two 16-bit words, as the kernel's 32-bit form does.
func pseudoSum(ip []byte, v6 bool, proto uint8, l4len uint32) uint64 {
	var acc uint64
	if v6 {
		acc = sum(ip[8:40], 0)
	} else {
		acc = sum(ip[12:20], 0)
	}
	return acc + uint64(proto) + uint64(l4len>>16) + uint64(l4len&0xffff)
}

// l4Checksum computes the checksum a correct sender writes into the TCP or
// UDP header at l4 (the checksum field itself counted as zero). UDP's 0 is
// sent as 0xFFFF (RFC 768); TCP keeps 0.
func l4Checksum(ip []byte, v6 bool, proto uint8, l4 []byte) uint16 {
	off := 16
	if proto == protoUDP {
		off = 6
	}
	acc := pseudoSum(ip, v6, proto, uint32(len(l4)))
	acc = sum(l4[:off], acc)
	acc = sum(l4[off+2:], acc)
	c := ^fold(acc)
	if c == 0 && proto == protoUDP {
		c = 0xffff
	}
	return c
}

// ipv4HeaderChecksum computes the header checksum of an IPv4 header.
func ipv4HeaderChecksum(h []byte) uint16 {
	acc := sum(h[:10], 0)
	acc = sum(h[12:], acc)
	return ^fold(acc)
}
