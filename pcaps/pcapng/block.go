package pcapng

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Block types (draft-ietf-opsawg-pcapng §10.1).
const (
	TypeSectionHeader        uint32 = 0x0A0D0D0A
	TypeInterfaceDescription uint32 = 0x00000001
	TypeObsoletePacket       uint32 = 0x00000002
	TypeSimplePacket         uint32 = 0x00000003
	TypeNameResolution       uint32 = 0x00000004
	TypeInterfaceStatistics  uint32 = 0x00000005
	TypeEnhancedPacket       uint32 = 0x00000006
	TypeDecryptionSecrets    uint32 = 0x0000000A
	TypeCustom               uint32 = 0x00000BAD
	// TypeCustomNoCopy is a custom block that a tool must not copy into a
	// file it writes (§5.2): its contents may depend on the rest of the file.
	TypeCustomNoCopy uint32 = 0x40000BAD
)

// ByteOrderMagic is the section header's byte-order magic.
const ByteOrderMagic = 0x1A2B3C4D

// IsSection reports whether raw begins a section header block (its type
// reads the same in either byte order).
func IsSection(raw []byte) bool {
	return len(raw) >= 4 && binary.LittleEndian.Uint32(raw) == TypeSectionHeader
}

// SectionOrder is the byte order a section header block declares; ok is
// false when raw is none: too short, another type, or a bad magic.
func SectionOrder(raw []byte) (order binary.ByteOrder, ok bool) {
	if len(raw) < 12 || !IsSection(raw) {
		return nil, false
	}
	switch binary.LittleEndian.Uint32(raw[8:12]) {
	case ByteOrderMagic:
		return binary.LittleEndian, true
	case 0x4D3C2B1A:
		return binary.BigEndian, true
	}
	return nil, false
}

// Fixed sizes: the framing of every block (type, length, trailing length)
// and the fixed parts of the bodies.
const (
	framing         = 12
	sectionFixed    = 16 // byte-order magic, version, section length
	interfaceFixed  = 8  // link type, reserved, snap length
	enhancedFixed   = 20 // interface, timestamp high and low, captured and original length
	simpleFixed     = 4  // original length
	obsoleteFixed   = 20 // interface, drops, timestamp, captured and original length
	MinBlock        = framing
	minSectionBlock = framing + sectionFixed
)

// Block is one whole block as it lies in the file: type, total length, body,
// total length again, in the byte order of its section.
type Block struct {
	Bytes []byte
	Order binary.ByteOrder
}

// Type is the block type.
func (b Block) Type() uint32 { return u32(b.Order, b.Bytes[0:4]) }

// u32 is o.Uint32(p), without the interface's call for the common order:
// a packet block's fields are read millions of times a second.
func u32(o binary.ByteOrder, p []byte) uint32 {
	if o == binary.LittleEndian {
		return binary.LittleEndian.Uint32(p)
	}
	return o.Uint32(p)
}

// Len is the total length field.
func (b Block) Len() int { return int(b.Order.Uint32(b.Bytes[4:8])) }

// Body is what lies between the leading and the trailing length.
func (b Block) Body() []byte { return b.Bytes[8 : len(b.Bytes)-4] }

// IsPacket reports whether the block holds a packet.
func (b Block) IsPacket() bool {
	switch b.Type() {
	case TypeEnhancedPacket, TypeSimplePacket, TypeObsoletePacket:
		return true
	}
	return false
}

// ErrShort reports a block too short for the fields its type has.
var ErrShort = errors.New("block too short for its type")

// optionsAt is where the options of a block begin (len(b.Bytes)-4 when its
// type has none), or an error when the fixed fields do not fit.
func (b Block) optionsAt() (int, error) {
	end := len(b.Bytes) - 4
	need := func(n int) (int, error) {
		if 8+n > end {
			return 0, fmt.Errorf("%w: type %#x, %d bytes", ErrShort, b.Type(), len(b.Bytes))
		}
		return 8 + n, nil
	}
	switch b.Type() {
	case TypeSectionHeader:
		return need(sectionFixed)
	case TypeInterfaceDescription:
		return need(interfaceFixed)
	case TypeEnhancedPacket:
		at, err := need(enhancedFixed)
		if err != nil {
			return 0, err
		}
		return need(enhancedFixed + padded(int(b.Order.Uint32(b.Bytes[at-8:at-4]))))
	case TypeObsoletePacket:
		at, err := need(obsoleteFixed)
		if err != nil {
			return 0, err
		}
		return need(obsoleteFixed + padded(int(b.Order.Uint32(b.Bytes[at-8:at-4]))))
	case TypeInterfaceStatistics:
		return need(12) // interface, timestamp
	case TypeDecryptionSecrets:
		at, err := need(8) // secrets type, length
		if err != nil {
			return 0, err
		}
		return need(8 + padded(int(b.Order.Uint32(b.Bytes[at-4:at]))))
	}
	return end, nil // no options known: SPB, NRB (its records), custom, unknown
}

// Options are the block's options as written (empty when its type has none
// or it carries none).
func (b Block) Options() (Options, error) {
	at, err := b.optionsAt()
	if err != nil {
		return Options{}, err
	}
	return Options{Bytes: b.Bytes[at : len(b.Bytes)-4], Order: b.Order}, nil
}

// padded rounds n up to 32 bits; a negative or huge n stays out of range.
func padded(n int) int {
	if n < 0 || n > 1<<30 {
		return 1 << 30
	}
	return (n + 3) &^ 3
}

// SectionHeader is a view of a Section Header Block.
type SectionHeader struct{ Block }

// Version is the major and minor version.
func (s SectionHeader) Version() (major, minor uint16) {
	return s.Order.Uint16(s.Bytes[12:14]), s.Order.Uint16(s.Bytes[14:16])
}

// SectionLength is the section's length in bytes after this block, -1 when
// not given.
func (s SectionHeader) SectionLength() int64 { return int64(s.Order.Uint64(s.Bytes[16:24])) }

// SetSectionLength writes the section length.
func (s SectionHeader) SetSectionLength(n int64) { s.Order.PutUint64(s.Bytes[16:24], uint64(n)) }

// InterfaceDescription is a view of an Interface Description Block.
type InterfaceDescription struct{ Block }

// LinkType is the interface's link type.
func (d InterfaceDescription) LinkType() uint16 { return d.Order.Uint16(d.Bytes[8:10]) }

// SnapLen is the snap length (0: none).
func (d InterfaceDescription) SnapLen() uint32 { return d.Order.Uint32(d.Bytes[12:16]) }

// Packet is what a packet block says of its packet, whichever its type.
type Packet struct {
	// Interface is the interface index within the section (0 for a Simple
	// Packet Block).
	Interface uint32
	// Timestamp is in the interface's units; HasTimestamp is false for a
	// Simple Packet Block, which has none.
	Timestamp    uint64
	HasTimestamp bool
	// Data is the captured bytes; Length the length on the wire.
	Data   []byte
	Length uint32
	// Padding is what follows Data up to 32 bits: zeros unless the writer
	// left something else there.
	Padding []byte
	// Options, as written (empty for a Simple Packet Block).
	Options Options
}

// Packet decodes a packet block. snapLen bounds a Simple Packet Block's data
// (it holds min(original length, snap length) bytes; 0 means no snap
// length).
func (b Block) Packet(snapLen uint32) (Packet, error) {
	end := len(b.Bytes) - 4
	var p Packet
	var at, capLen int
	switch b.Type() {
	case TypeEnhancedPacket:
		if 8+enhancedFixed > end {
			return p, fmt.Errorf("%w: enhanced packet block of %d bytes", ErrShort, len(b.Bytes))
		}
		f := b.Bytes[8 : 8+enhancedFixed]
		p.Interface = u32(b.Order, f[0:4])
		p.Timestamp = uint64(u32(b.Order, f[4:8]))<<32 | uint64(u32(b.Order, f[8:12]))
		p.HasTimestamp = true
		capLen, p.Length = int(u32(b.Order, f[12:16])), u32(b.Order, f[16:20])
		at = 8 + enhancedFixed
	case TypeObsoletePacket:
		if 8+obsoleteFixed > end {
			return p, fmt.Errorf("%w: packet block of %d bytes", ErrShort, len(b.Bytes))
		}
		f := b.Bytes[8:]
		p.Interface = uint32(b.Order.Uint16(f[0:2]))
		p.Timestamp = uint64(b.Order.Uint32(f[4:8]))<<32 | uint64(b.Order.Uint32(f[8:12]))
		p.HasTimestamp = true
		capLen, p.Length = int(b.Order.Uint32(f[12:16])), b.Order.Uint32(f[16:20])
		at = 8 + obsoleteFixed
	case TypeSimplePacket:
		if 8+simpleFixed > end {
			return p, fmt.Errorf("%w: simple packet block of %d bytes", ErrShort, len(b.Bytes))
		}
		p.Length = b.Order.Uint32(b.Bytes[8:12])
		at = 8 + simpleFixed
		capLen = int(p.Length)
		if snapLen != 0 && uint32(capLen) > snapLen {
			capLen = int(snapLen)
		}
		if room := end - at; capLen > room {
			// The block's length is what it holds; a longer original
			// length than that was truncated by a snap length.
			capLen = room
		}
	default:
		return p, fmt.Errorf("block type %#x holds no packet", b.Type())
	}
	if capLen < 0 || capLen > end-at {
		return p, fmt.Errorf("captured length %d exceeds the block's %d bytes of data", capLen, end-at)
	}
	pad := padded(capLen)
	if at+pad > end {
		pad = end - at // a Simple Packet Block's last bytes
	}
	p.Data = b.Bytes[at : at+capLen : at+capLen]
	p.Padding = b.Bytes[at+capLen : at+pad]
	if b.Type() != TypeSimplePacket {
		p.Options = Options{Bytes: b.Bytes[at+pad : end], Order: b.Order}
	}
	return p, nil
}
