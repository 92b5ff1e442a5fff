package header

import "encoding/binary"

// UDPSize is the UDP header.
const UDPSize = 8

// UDPChecksumOffset is where the checksum lies in the header: csum_offset
// of a virtio header for UDP.
const UDPChecksumOffset = 6

// UDP is a UDP header followed by the payload.
type UDP []byte

// IsValid reports whether b holds the header.
func (b UDP) IsValid() bool { return len(b) >= UDPSize }

// SourcePort is the source port.
func (b UDP) SourcePort() uint16 { return binary.BigEndian.Uint16(b[0:2]) }

// DestinationPort is the destination port.
func (b UDP) DestinationPort() uint16 { return binary.BigEndian.Uint16(b[2:4]) }

// Ports is both ports, source in the high half: a flow key's part.
func (b UDP) Ports() uint32 { return binary.BigEndian.Uint32(b[0:4]) }

// Length is the length field: header and payload.
func (b UDP) Length() uint16 { return binary.BigEndian.Uint16(b[4:6]) }

// Checksum is the checksum as stored (0: none, over IPv4).
func (b UDP) Checksum() uint16 { return binary.BigEndian.Uint16(b[6:8]) }

// Payload is what follows the header in b.
func (b UDP) Payload() []byte { return b[UDPSize:] }

// SetLength writes the length field.
func (b UDP) SetLength(n uint16) { binary.BigEndian.PutUint16(b[4:6], n) }

// SetChecksum writes the checksum.
func (b UDP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(b[6:8], c) }
