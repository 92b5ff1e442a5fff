package header

import "encoding/binary"

// IPv6MinimumSize is the fixed header.
const IPv6MinimumSize = 40

// IPv6 extension header numbers.
const (
	IPv6HopByHop    uint8 = 0
	IPv6Routing     uint8 = 43
	IPv6Fragment    uint8 = 44
	IPv6DestOptions uint8 = 60
)

// IPv6 is an IPv6 header followed by extension headers and the payload.
type IPv6 []byte

// IsValid reports whether b holds a version-6 fixed header.
func (b IPv6) IsValid() bool { return len(b) >= IPv6MinimumSize && b[0]>>4 == 6 }

// Version is the IP version nibble (6 for IPv6).
func (b IPv6) Version() uint8 { return b[0] >> 4 }

// TrafficClass is the traffic class (DSCP and ECN).
func (b IPv6) TrafficClass() uint8 { return uint8(binary.BigEndian.Uint16(b[0:2]) >> 4) }

// FlowLabel is the 20-bit flow label.
func (b IPv6) FlowLabel() uint32 { return binary.BigEndian.Uint32(b[0:4]) & 0xfffff }

// PayloadLength is the length after the fixed header (extension headers
// included), 0 for a jumbogram or a BIG TCP packet.
func (b IPv6) PayloadLength() uint16 { return binary.BigEndian.Uint16(b[4:6]) }

// NextHeader is the header after the fixed one.
func (b IPv6) NextHeader() uint8 { return b[6] }

// HopLimit is the hop limit.
func (b IPv6) HopLimit() uint8 { return b[7] }

// Addresses is the source and destination address, 32 bytes: what the
// TCP/UDP pseudo-header takes.
func (b IPv6) Addresses() []byte { return b[8:40] }

// Source is the source address.
func (b IPv6) Source() []byte { return b[8:24] }

// Destination is the destination address.
func (b IPv6) Destination() []byte { return b[24:40] }

// SetHopLimit sets the hop limit.
func (b IPv6) SetHopLimit(h uint8) { b[7] = h }

// SetNextHeader sets the header after the fixed one.
func (b IPv6) SetNextHeader(p uint8) { b[6] = p }

// SetPayloadLength writes the payload length.
func (b IPv6) SetPayloadLength(n uint16) { binary.BigEndian.PutUint16(b[4:6], n) }

// ExtStatus says how the walk over extension headers ended.
type ExtStatus uint8

const (
	ExtOK        ExtStatus = iota
	ExtTruncated           // an extension header runs past b
	ExtFragment            // a fragment header: the packet is a fragment
)

// Transport walks the extension headers that GSO copies verbatim into every
// segment (hop-by-hop, routing, destination options) and returns the offset
// of the header after them, within b, and its protocol number.
func (b IPv6) Transport() (off int, proto uint8, st ExtStatus) {
	proto, off = b.NextHeader(), IPv6MinimumSize
	for {
		switch proto {
		case IPv6HopByHop, IPv6Routing, IPv6DestOptions:
			if len(b) < off+8 {
				return 0, 0, ExtTruncated
			}
			proto, off = b[off], off+(int(b[off+1])+1)*8
		case IPv6Fragment:
			return 0, 0, ExtFragment
		default:
			return off, proto, ExtOK
		}
	}
}

// String words the status as coalesce's refusal reasons do.
func (s ExtStatus) String() string {
	switch s {
	case ExtOK:
		return "none"
	case ExtTruncated:
		return "malformed headers"
	}
	return "IP fragment"
}
