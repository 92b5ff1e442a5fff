package header

import "encoding/binary"

// Protocol numbers.
const (
	ProtoTCP uint8 = 6
	ProtoUDP uint8 = 17
	ProtoESP uint8 = 50
	ProtoAH  uint8 = 51
)

// IPv4MinimumSize is the header without options.
const IPv4MinimumSize = 20

// IPv4 flags in the flags/fragment-offset field.
const (
	IPv4FlagReserved uint16 = 0x8000
	IPv4FlagDF       uint16 = 0x4000
	IPv4FlagMF       uint16 = 0x2000
	ipv4OffsetMask   uint16 = 0x1fff
)

// IPv4 is an IPv4 header with its options, followed by the payload.
type IPv4 []byte

// IsValid reports whether b holds a version-4 header whose header length
// (options included) is at least 20 bytes and within b.
func (b IPv4) IsValid() bool {
	if len(b) < IPv4MinimumSize || b[0]>>4 != 4 {
		return false
	}
	n := b.HeaderLength()
	return n >= IPv4MinimumSize && n <= len(b)
}

// Version is the version nibble.
func (b IPv4) Version() uint8 { return b[0] >> 4 }

// HeaderLength is IHL in bytes, options included.
func (b IPv4) HeaderLength() int { return int(b[0]&0x0f) * 4 }

// TOS is the type of service (DSCP and ECN).
func (b IPv4) TOS() uint8 { return b[1] }

// TotalLength is the datagram's length as the header states it.
func (b IPv4) TotalLength() uint16 { return binary.BigEndian.Uint16(b[2:4]) }

// ID is the identification field.
func (b IPv4) ID() uint16 { return binary.BigEndian.Uint16(b[4:6]) }

// FlagsFragment is the raw flags and fragment offset field.
func (b IPv4) FlagsFragment() uint16 { return binary.BigEndian.Uint16(b[6:8]) }

// DF reports the don't-fragment flag.
func (b IPv4) DF() bool { return b.FlagsFragment()&IPv4FlagDF != 0 }

// MF reports the more-fragments flag.
func (b IPv4) MF() bool { return b.FlagsFragment()&IPv4FlagMF != 0 }

// FragmentOffset is the fragment's offset in the datagram, in bytes.
func (b IPv4) FragmentOffset() int { return int(b.FlagsFragment()&ipv4OffsetMask) * 8 }

// IsFragment reports MF set or a fragment offset: the packet is part of a
// fragmented datagram.
func (b IPv4) IsFragment() bool { return b.FlagsFragment()&(IPv4FlagMF|ipv4OffsetMask) != 0 }

// TTL is the time to live.
func (b IPv4) TTL() uint8 { return b[8] }

// Protocol is the transport protocol.
func (b IPv4) Protocol() uint8 { return b[9] }

// Checksum is the header checksum as stored.
func (b IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(b[10:12]) }

// Addresses is the source and destination address, 8 bytes: what the
// TCP/UDP pseudo-header takes.
func (b IPv4) Addresses() []byte { return b[12:20] }

// Source is the source address.
func (b IPv4) Source() []byte { return b[12:16] }

// Destination is the destination address.
func (b IPv4) Destination() []byte { return b[16:20] }

// Options is the options area (empty without options). b must be valid.
func (b IPv4) Options() []byte { return b[IPv4MinimumSize:b.HeaderLength()] }

// Payload is what follows the header in b (not trimmed to TotalLength).
func (b IPv4) Payload() []byte { return b[b.HeaderLength():] }

// SetTotalLength writes the total length.
func (b IPv4) SetTotalLength(n uint16) { binary.BigEndian.PutUint16(b[2:4], n) }

// SetID writes the identification.
func (b IPv4) SetID(id uint16) { binary.BigEndian.PutUint16(b[4:6], id) }

// SetFlagsFragment writes the flags and fragment offset field.
func (b IPv4) SetFlagsFragment(v uint16) { binary.BigEndian.PutUint16(b[6:8], v) }

// SetFragment writes a fragment offset in bytes (a multiple of 8) and MF,
// with DF and the reserved bit clear.
func (b IPv4) SetFragment(offset int, more bool) {
	v := uint16(offset/8) & ipv4OffsetMask
	if more {
		v |= IPv4FlagMF
	}
	b.SetFlagsFragment(v)
}

// DecrementTTL lowers the TTL by one and updates the header checksum
// incrementally, with the kernel's arithmetic (ip_decrease_ttl, as on a
// little-endian machine: the field loaded as it lies, plus htons(0x0100),
// the end-around carry folded so that the result is never 0xffff): what a
// Linux router does to every IPv4 packet it forwards.
func (b IPv4) DecrementTTL() {
	check := uint32(binary.LittleEndian.Uint16(b[10:12])) + 1
	if check >= 0xffff {
		check++
	}
	binary.LittleEndian.PutUint16(b[10:12], uint16(check))
	b[8]--
}

// SetChecksum writes the header checksum.
func (b IPv4) SetChecksum(c uint16) { binary.BigEndian.PutUint16(b[10:12], c) }

// CalculateChecksum is the header checksum the header should carry: the
// checksum of the header (options included, b[:HeaderLength()]) with the
// checksum field counted as zero.
func (b IPv4) CalculateChecksum() uint16 {
	h := b[:b.HeaderLength()]
	return ^Fold(Sum(h[12:], Sum(h[:10], 0)))
}

// IsChecksumValid reports whether the stored header checksum is the one
// CalculateChecksum gives, exactly.
func (b IPv4) IsChecksumValid() bool { return b.Checksum() == b.CalculateChecksum() }

// UpdateChecksum recomputes and writes the header checksum.
func (b IPv4) UpdateChecksum() { b.SetChecksum(b.CalculateChecksum()) }
