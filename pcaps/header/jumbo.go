package header

import "encoding/binary"

// IPv6JumboSize is a Hop-by-Hop header holding only the Jumbo Payload
// option (RFC 2675): next header, length 0, option type, option length 4,
// and the 32-bit payload length.
const IPv6JumboSize = 8

// ipv6OptJumbo is the Jumbo Payload option's type.
const ipv6OptJumbo = 0xc2

// IPv6Jumbo is that 8-byte Hop-by-Hop header, as Linux 6.0 to 6.19 put it
// right after the IPv6 header of a BIG TCP packet (payload length 0)
// and took it off again before the packet left (ipv6_hopopt_jumbo_remove).
// Linux 7.0 writes payload length 0 without it.
type IPv6Jumbo []byte

// NextHeader is the header after this one.
func (b IPv6Jumbo) NextHeader() uint8 { return b[0] }

// PayloadLength is the jumbo payload length: every byte after the IPv6
// fixed header, this header included.
func (b IPv6Jumbo) PayloadLength() uint32 { return binary.BigEndian.Uint32(b[4:8]) }

// Encode writes the header: next header next, payload length n.
func (b IPv6Jumbo) Encode(next uint8, n uint32) {
	b[0], b[1], b[2], b[3] = next, 0, ipv6OptJumbo, 4
	binary.BigEndian.PutUint32(b[4:8], n)
}

// BigTCPJumbo reports whether the IPv6 packet b (fixed header to the end)
// carries the jumbo header that Linux 6.0 to 6.19's GSO removes before it
// segments, by that kernel's own test (ipv6_has_hopopt_jumbo): more than
// 65536 bytes, a Hop-by-Hop header first, of length 0, whose first option
// is Jumbo Payload and whose next header is TCP. The option's lengths are
// not looked at, as the kernel does not.
func (b IPv6) BigTCPJumbo() bool {
	if len(b) <= 65536 || b.NextHeader() != IPv6HopByHop {
		return false
	}
	j := IPv6Jumbo(b[IPv6MinimumSize:])
	return j[1] == 0 && j[2] == ipv6OptJumbo && j.NextHeader() == ProtoTCP
}
