package pcapng

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Option codes this package reads; every other option is carried as bytes.
const (
	OptEndOfOpt    uint16 = 0
	OptComment     uint16 = 1
	OptIfTsresol   uint16 = 9  // interface description: timestamp resolution
	OptIfTsoffset  uint16 = 14 // interface description: seconds added to timestamps
	optHeaderBytes        = 4  // code, length
)

// Options is a block's option list as written.
type Options struct {
	Bytes []byte
	Order binary.ByteOrder
}

// ErrOption reports an option whose length runs past its block.
var ErrOption = errors.New("option runs past the end of its block")

// Each calls fn for every option up to opt_endofopt or the end of the list
// (a writer may leave opt_endofopt out: readers must take the block's end
// for it). value is a slice of the block.
func (o Options) Each(fn func(code uint16, value []byte) error) error {
	b := o.Bytes
	for len(b) >= optHeaderBytes {
		code, n := o.Order.Uint16(b[0:2]), int(o.Order.Uint16(b[2:4]))
		if code == OptEndOfOpt {
			return nil
		}
		if optHeaderBytes+n > len(b) {
			return fmt.Errorf("%w: option %d of %d bytes, %d left", ErrOption, code, n, len(b)-optHeaderBytes)
		}
		if err := fn(code, b[optHeaderBytes:optHeaderBytes+n]); err != nil {
			return err
		}
		b = b[min(len(b), optHeaderBytes+padded(n)):]
	}
	return nil
}

// First is the value of the first option of code (nil, false when none).
func (o Options) First(code uint16) ([]byte, bool) {
	var v []byte
	found := false
	o.Each(func(c uint16, value []byte) error {
		if c == code {
			v, found = value, true
			return errFound
		}
		return nil
	})
	return v, found
}

// errFound stops Each; one value, so that First allocates nothing.
var errFound = errors.New("found")

// FirstLen is the length in bytes of the first option, padding included (0
// when the list is empty or begins with opt_endofopt).
func (o Options) FirstLen() int {
	b := o.Bytes
	if len(b) < optHeaderBytes || o.Order.Uint16(b[0:2]) == OptEndOfOpt {
		return 0
	}
	return min(len(b), optHeaderBytes+padded(int(o.Order.Uint16(b[2:4]))))
}

// AppendOption appends one option, padded to 32 bits, in order.
func AppendOption(dst []byte, order binary.ByteOrder, code uint16, value []byte) []byte {
	var h [optHeaderBytes]byte
	order.PutUint16(h[0:2], code)
	order.PutUint16(h[2:4], uint16(len(value)))
	dst = append(append(dst, h[:]...), value...)
	var zero [3]byte
	return append(dst, zero[:padded(len(value))-len(value)]...)
}

// Insert appends to dst the block b with one option added before its first:
// the rest of the block, other options and padding included, stays as it
// was. A block whose type has no options cannot take one.
func Insert(dst []byte, b Block, code uint16, value []byte) ([]byte, error) {
	if len(value) > 0xFFFF {
		return dst, fmt.Errorf("option of %d bytes exceeds 65535", len(value))
	}
	at, err := b.optionsAt()
	if err != nil {
		return dst, err
	}
	if at == len(b.Bytes)-4 && !hasOptions(b.Type()) {
		return dst, fmt.Errorf("block type %#x has no options", b.Type())
	}
	start := len(dst)
	dst = append(dst, b.Bytes[:at]...)
	dst = AppendOption(dst, b.Order, code, value)
	dst = append(dst, b.Bytes[at:]...)
	setLen(dst[start:], b.Order)
	return dst, nil
}

// Remove appends to dst the block b without its first option; the rest
// stays as it was. It is Insert's inverse.
func Remove(dst []byte, b Block) ([]byte, error) {
	o, err := b.Options()
	if err != nil {
		return dst, err
	}
	at := len(b.Bytes) - 4 - len(o.Bytes)
	start := len(dst)
	dst = append(dst, b.Bytes[:at]...)
	dst = append(dst, b.Bytes[at+o.FirstLen():]...)
	setLen(dst[start:], b.Order)
	return dst, nil
}

func setLen(blk []byte, order binary.ByteOrder) {
	order.PutUint32(blk[4:8], uint32(len(blk)))
	order.PutUint32(blk[len(blk)-4:], uint32(len(blk)))
}

func hasOptions(t uint32) bool {
	switch t {
	case TypeSectionHeader, TypeInterfaceDescription, TypeEnhancedPacket, TypeObsoletePacket,
		TypeInterfaceStatistics, TypeDecryptionSecrets:
		return true
	}
	return false
}
