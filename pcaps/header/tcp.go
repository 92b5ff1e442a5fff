package header

import "encoding/binary"

// TCPMinimumSize is the header without options.
const TCPMinimumSize = 20

// TCPFlags are the flags of byte 13.
type TCPFlags uint8

// TCP flags.
const (
	TCPFlagFIN TCPFlags = 0x01
	TCPFlagSYN TCPFlags = 0x02
	TCPFlagRST TCPFlags = 0x04
	TCPFlagPSH TCPFlags = 0x08
	TCPFlagACK TCPFlags = 0x10
	TCPFlagURG TCPFlags = 0x20
	TCPFlagECE TCPFlags = 0x40
	TCPFlagCWR TCPFlags = 0x80
)

var tcpFlagNames = [8]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}

// String is the flags as a |-list ("ACK|PSH"), "none" when none is set.
func (f TCPFlags) String() string {
	s := ""
	for i, n := range tcpFlagNames {
		if f&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// TCP option kinds.
const (
	TCPOptionEnd = 0
	TCPOptionNOP = 1
	TCPOptionMSS = 2
)

// TCP is a TCP header with its options, followed by the payload.
type TCP []byte

// IsValid reports whether b holds a header whose data offset is at least
// 20 bytes and within b.
func (b TCP) IsValid() bool {
	if len(b) < TCPMinimumSize {
		return false
	}
	n := b.DataOffset()
	return n >= TCPMinimumSize && n <= len(b)
}

// SourcePort is the source port.
func (b TCP) SourcePort() uint16 { return binary.BigEndian.Uint16(b[0:2]) }

// DestinationPort is the destination port.
func (b TCP) DestinationPort() uint16 { return binary.BigEndian.Uint16(b[2:4]) }

// Ports is both ports, source in the high half: a flow key's part.
func (b TCP) Ports() uint32 { return binary.BigEndian.Uint32(b[0:4]) }

// SequenceNumber is the sequence number.
func (b TCP) SequenceNumber() uint32 { return binary.BigEndian.Uint32(b[4:8]) }

// AckNumber is the acknowledgment number.
func (b TCP) AckNumber() uint32 { return binary.BigEndian.Uint32(b[8:12]) }

// DataOffset is the header length in bytes, options included.
func (b TCP) DataOffset() int { return int(b[12]>>4) * 4 }

// Reserved is the low nibble of byte 12: the reserved bits and the
// historic NS bit.
func (b TCP) Reserved() uint8 { return b[12] & 0x0f }

// Flags are the flags of byte 13.
func (b TCP) Flags() TCPFlags { return TCPFlags(b[13]) }

// WindowSize is the window.
func (b TCP) WindowSize() uint16 { return binary.BigEndian.Uint16(b[14:16]) }

// Checksum is the checksum as stored.
func (b TCP) Checksum() uint16 { return binary.BigEndian.Uint16(b[16:18]) }

// UrgentPointer is the urgent pointer.
func (b TCP) UrgentPointer() uint16 { return binary.BigEndian.Uint16(b[18:20]) }

// Options is the options area. b must be valid.
func (b TCP) Options() []byte { return b[TCPMinimumSize:b.DataOffset()] }

// Payload is what follows the header in b. b must be valid.
func (b TCP) Payload() []byte { return b[b.DataOffset():] }

// SetSequenceNumber writes the sequence number.
func (b TCP) SetSequenceNumber(n uint32) { binary.BigEndian.PutUint32(b[4:8], n) }

// SetFlags writes the flags.
func (b TCP) SetFlags(f TCPFlags) { b[13] = uint8(f) }

// SetChecksum writes the checksum.
func (b TCP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(b[16:18], c) }

// TCPChecksumOffset is where the checksum lies in the header: csum_offset
// of a virtio header for TCP.
const TCPChecksumOffset = 16

// MSS is the value of the MSS option (the last one, as tcp_parse_options
// takes it), 0 when there is none; the walk stops at the end-of-options
// option or a malformed length. b must be valid.
func (b TCP) MSS() int {
	mss := 0
	for opts := b.Options(); len(opts) > 0; {
		switch opts[0] {
		case TCPOptionEnd:
			return mss
		case TCPOptionNOP:
			opts = opts[1:]
		default:
			if len(opts) < 2 || int(opts[1]) < 2 || int(opts[1]) > len(opts) {
				return mss
			}
			if opts[0] == TCPOptionMSS && opts[1] == 4 {
				mss = int(binary.BigEndian.Uint16(opts[2:4]))
			}
			opts = opts[opts[1]:]
		}
	}
	return mss
}
