package pcaps

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression is how a capture file's bytes are compressed. A Reader
// finds it by the stream's magic, whatever the file's name; a Writer's
// output is compressed by Compress.
type Compression int

const (
	Uncompressed Compression = iota
	Gzip
	Zstd
)

func (c Compression) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return "none"
}

// ParseCompression reads a compression's name: none, gzip or zstd.
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "none", "":
		return Uncompressed, nil
	case "gzip", "gz":
		return Gzip, nil
	case "zstd", "zst":
		return Zstd, nil
	}
	return Uncompressed, fmt.Errorf("compression %q: want none, gzip or zstd", s)
}

// CompressionOf is the compression a file name's suffix asks for: .gz
// gzip, .zst zstd, anything else none.
func CompressionOf(path string) Compression {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gz":
		return Gzip
	case ".zst":
		return Zstd
	}
	return Uncompressed
}

// Magics of the compressed streams a Reader takes.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// maxZstdWindow bounds the memory a zstd stream's window may ask of the
// decoder: zstd's own tools write windows of 8 MiB at most unless told
// (--long: 128 MiB); a header asking for more is taken for a hostile file.
const maxZstdWindow = 128 << 20

// Read-ahead of a decompressed stream: chunks of this size, this many
// decompressed ahead of the reader.
const (
	aheadChunk  = 1 << 20
	aheadChunks = 4
)

// decompressed is br decompressed, on a goroutine of its own, when its
// first bytes are a gzip or zstd magic (br itself otherwise): inflating
// then runs beside parsing and sending. stop ends that goroutine and
// releases the decoder (a no-op for an uncompressed stream).
func decompressed(br *bufio.Reader) (r io.Reader, c Compression, stop func(), err error) {
	magic, _ := br.Peek(len(zstdMagic))
	var dec io.Reader
	closeDec := func() {}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, Gzip, nil, err
		}
		dec, c = zr, Gzip
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, Zstd, nil, err
		}
		dec, c, closeDec = zr, Zstd, zr.Close
	default:
		return br, Uncompressed, func() {}, nil
	}
	ra := newReadahead(dec, aheadChunk, aheadChunks, closeDec)
	return ra, c, ra.stop, nil
}

// readahead reads src into chunks on a goroutine of its own, up to n
// chunks ahead of Read.
type readahead struct {
	full chan []byte // chunks read, in order; closed after the last
	free chan []byte // chunks Read is done with
	err  error       // why the chunks ended (io.EOF at a clean end); set before full is closed
	cur  []byte      // what is left of the chunk being read
	last []byte      // that chunk, to give back
	done chan struct{}
	once sync.Once
}

// newReadahead starts reading src; exit is called when the reading ends
// (at the end of src, on its error, or after stop), on that goroutine.
func newReadahead(src io.Reader, size, n int, exit func()) *readahead {
	ra := &readahead{full: make(chan []byte, n), free: make(chan []byte, n), done: make(chan struct{})}
	for range n {
		ra.free <- make([]byte, size)
	}
	go ra.run(src, exit)
	return ra
}

func (ra *readahead) run(src io.Reader, exit func()) {
	defer exit() // the decoder is this goroutine's to release
	defer close(ra.full)
	for {
		var b []byte
		select {
		case b = <-ra.free:
		case <-ra.done:
			ra.err = errStopped
			return
		}
		b = b[:cap(b)]
		n, err := 0, error(nil)
		for n < len(b) && err == nil {
			var k int
			k, err = src.Read(b[n:])
			n += k
		}
		if n > 0 {
			select {
			case ra.full <- b[:n]:
			case <-ra.done:
				ra.err = errStopped
				return
			}
		}
		if err != nil {
			ra.err = err // io.EOF, or the decoder's (io.ErrUnexpectedEOF for a cut stream)
			return
		}
	}
}

// errStopped is what a Read after stop returns.
var errStopped = errors.New("reader closed")

// Read hands out the chunks in order; at their end, why they ended.
func (ra *readahead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.last != nil {
			ra.free <- ra.last // never blocks: there are only n chunks
			ra.last = nil
		}
		b, ok := <-ra.full
		if !ok {
			return 0, ra.err
		}
		ra.cur, ra.last = b, b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// stop ends the reading once the read under way returns (a pipe may keep
// it waiting: stop does not wait for it).
func (ra *readahead) stop() { ra.once.Do(func() { close(ra.done) }) }

// Compress returns a writer that compresses what is written to w with c
// (w itself, and a Close that does nothing, for Uncompressed); its Close
// writes the compressed stream's end, not closing w.
func Compress(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		return gzip.NewWriterLevel(w, gzip.BestSpeed)
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest))
	}
	return nopCloser{w}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
