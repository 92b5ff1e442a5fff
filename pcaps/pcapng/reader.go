package pcapng

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxBlock is the default bound on a block's length. The longest frame a
// capture holds is far below it; decryption secrets of a long capture may
// take megabytes.
const MaxBlock = 64 << 20

// Errors of Reader, wrapped with the byte offset of the block.
var (
	ErrTruncated  = errors.New("file ends inside a block")
	ErrLength     = errors.New("bad block length")
	ErrNoSection  = errors.New("no section header before the first block")
	ErrByteOrder  = errors.New("bad byte-order magic")
	ErrTooLong    = errors.New("block longer than the reader accepts")
	ErrBadVersion = errors.New("unsupported pcapng major version")
)

// Reader reads the blocks of a pcapng stream one at a time. The Block it
// returns lies in a buffer that the next call reuses; the buffer grows with
// the longest block, up to Max, and only as its bytes arrive, so that a
// lying length field costs no more memory than the file holds.
type Reader struct {
	r      io.Reader
	buf    []byte
	order  binary.ByteOrder
	offset int64 // of the next block
	start  int64 // of the block last returned
	head   [12]byte
	// Max bounds a block's length (MaxBlock unless set).
	Max int
}

// NewReader reads blocks from r, which must begin with a section header.
func NewReader(r io.Reader) *Reader { return &Reader{r: r, Max: MaxBlock} }

// Offset is the byte offset of the block last returned.
func (r *Reader) Offset() int64 { return r.start }

// Order is the byte order of the current section (nil before the first).
func (r *Reader) Order() binary.ByteOrder { return r.order }

// Next reads the next block. It returns io.EOF at a clean end of the
// stream, and otherwise errors that wrap the ones above with the offset.
func (r *Reader) Next() (Block, error) {
	r.start = r.offset
	head := &r.head
	n, err := io.ReadFull(r.r, head[:8])
	if err == io.EOF {
		return Block{}, io.EOF
	}
	if err != nil {
		return Block{}, r.errorf(ErrTruncated, "%d bytes of a block header", n)
	}
	if IsSection(head[:]) {
		if k, err := io.ReadFull(r.r, head[8:12]); err != nil {
			return Block{}, r.errorf(ErrTruncated, "%d bytes of a section header", 8+k)
		}
		n = 12
	}
	length, order, err := Header(head[:n], r.order, r.Max)
	if err != nil {
		return Block{}, r.at(err)
	}
	r.buf = append(r.buf[:0], head[:n]...)
	if err := r.fill(length); err != nil {
		return Block{}, err
	}
	b := Block{Bytes: r.buf, Order: order}
	if err := Check(b); err != nil {
		return Block{}, r.at(err)
	}
	if b.Type() == TypeSectionHeader {
		r.order = order
	}
	r.offset += int64(length)
	return b, nil
}

// Header reads a block's length and byte order from its first bytes, head:
// 8 of them, or 12 for a section header (IsSection), whose byte-order magic
// says how to read it; other blocks are read in order, the current
// section's (nil before the first section). The length is checked as
// Reader.Next checks it: at least a block's framing, a multiple of 4, at
// most max. Errors wrap the ones above.
func Header(head []byte, order binary.ByteOrder, max int) (length int, o binary.ByteOrder, err error) {
	min := int64(MinBlock)
	if IsSection(head) {
		var ok bool
		if order, ok = SectionOrder(head); !ok {
			return 0, nil, fmt.Errorf("%#08x: %w", binary.LittleEndian.Uint32(head[8:12]), ErrByteOrder)
		}
		min = minSectionBlock
	} else if order == nil {
		return 0, nil, fmt.Errorf("block type %#x: %w", binary.LittleEndian.Uint32(head[0:4]), ErrNoSection)
	}
	l := int64(order.Uint32(head[4:8]))
	switch {
	case l < min || l%4 != 0:
		return 0, nil, fmt.Errorf("%d: %w", l, ErrLength)
	case l > int64(max):
		return 0, nil, fmt.Errorf("%d bytes > %d: %w", l, max, ErrTooLong)
	}
	return int(l), order, nil
}

// Check checks a whole block as Reader.Next does: its trailing length is
// its leading one, and a section header is of major version 1.
func Check(b Block) error {
	length := len(b.Bytes)
	if trail := int(b.Order.Uint32(b.Bytes[length-4:])); trail != length {
		return fmt.Errorf("leading length %d, trailing %d: %w", length, trail, ErrLength)
	}
	if b.Type() == TypeSectionHeader {
		if major, _ := (SectionHeader{b}).Version(); major != 1 {
			return fmt.Errorf("%d: %w", major, ErrBadVersion)
		}
	}
	return nil
}

// fill reads the block up to length bytes, growing the buffer as bytes
// come rather than at once.
func (r *Reader) fill(length int) error {
	const step = 1 << 20
	for len(r.buf) < length {
		want := min(length, len(r.buf)+step)
		if cap(r.buf) < want {
			nb := make([]byte, len(r.buf), max(want, min(length, 2*cap(r.buf))))
			copy(nb, r.buf)
			r.buf = nb
		}
		got := len(r.buf)
		n, err := io.ReadFull(r.r, r.buf[got:want])
		r.buf = r.buf[:got+n]
		if err != nil {
			return r.errorf(ErrTruncated, "%d of %d bytes", len(r.buf), length)
		}
	}
	return nil
}

// at names the place of an error of Header or Check.
func (r *Reader) at(err error) error { return fmt.Errorf("byte offset %d: %w", r.start, err) }

func (r *Reader) errorf(class error, format string, args ...any) error {
	return fmt.Errorf("byte offset %d: %s: %w", r.start, fmt.Sprintf(format, args...), class)
}
