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
	order := r.order
	if IsSection(head[:]) {
		// A new section: its byte-order magic says how to read the rest.
		if n, err := io.ReadFull(r.r, head[8:12]); err != nil {
			return Block{}, r.errorf(ErrTruncated, "%d bytes of a section header", 8+n)
		}
		var ok bool
		if order, ok = SectionOrder(head[:]); !ok {
			return Block{}, r.errorf(ErrByteOrder, "%#08x", binary.LittleEndian.Uint32(head[8:12]))
		}
		n = 12
	} else if order == nil {
		return Block{}, r.errorf(ErrNoSection, "block type %#x", binary.LittleEndian.Uint32(head[0:4]))
	}
	length := int64(order.Uint32(head[4:8]))
	min := int64(MinBlock)
	if n == 12 {
		min = minSectionBlock
	}
	switch {
	case length < min || length%4 != 0:
		return Block{}, r.errorf(ErrLength, "%d", length)
	case length > int64(r.Max):
		return Block{}, r.errorf(ErrTooLong, "%d bytes > %d", length, r.Max)
	}
	r.buf = append(r.buf[:0], head[:n]...)
	if err := r.fill(int(length)); err != nil {
		return Block{}, err
	}
	b := Block{Bytes: r.buf, Order: order}
	if trail := int64(order.Uint32(r.buf[length-4:])); trail != length {
		return Block{}, r.errorf(ErrLength, "leading length %d, trailing %d", length, trail)
	}
	if b.Type() == TypeSectionHeader {
		if major, _ := (SectionHeader{b}).Version(); major != 1 {
			return Block{}, r.errorf(ErrBadVersion, "%d", major)
		}
		r.order = order
	}
	r.offset += length
	return b, nil
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

func (r *Reader) errorf(class error, format string, args ...any) error {
	return fmt.Errorf("byte offset %d: %s: %w", r.start, fmt.Sprintf(format, args...), class)
}
