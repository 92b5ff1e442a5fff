// Package pcaps reads and writes packet captures as streams.
//
// A Reader turns a pcap file (microsecond or nanosecond magic, either byte
// order) or a pcapng file (several interfaces, mixed link types, several
// sections, per-packet comments), either compressed with gzip or zstd
// (found by the magic, inflated on a goroutine of its own: compress.go),
// into a sequence of Packets,
// one at a time, in a buffer that is reused: memory stays bounded whatever the
// size of the file. Frames longer than the file's snap length, as captures from
// TSO/GRO hosts hold, are read rather than rejected, up to MaxFrame bytes.
// pcap file headers are parsed by gopacket's pcapgo; records of every
// format are parsed in place from a ring (window.go), which a caller may
// lend (Window) to keep packets without copying them. pcapng blocks are
// checked by pcaps/pcapng and kept as written, so that a packet carries its
// block and options (Packet.Block, Packet.Options) and, with KeepBlocks,
// every other block comes out in its place too. The package adds format detection, the limits, and errors
// that name the file and the packet.
//
// A Writer writes pcap or pcapng, the latter with one interface description
// per input interface and an optional comment per packet.
//
// Both also handle vnet record files (see VnetMagic): a virtio_net_hdr and a
// frame per record, what a tap with IFF_VNET_HDR consumes; Packet.Vnet
// carries the header bytes.
package pcaps

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// readBuffer is the Reader's buffer over the file.
const readBuffer = 256 << 10

// MaxFrame is the longest frame a Reader accepts. BIG TCP super-frames reach
// 512 KiB; anything longer is taken for a corrupt length field.
const MaxFrame = 1 << 20

// Format is a capture file format.
type Format int

const (
	FormatPcap Format = iota
	FormatPcapNG
	FormatVnet // length-prefixed virtio_net_hdr + frame records (VnetMagic)
)

func (f Format) String() string {
	switch f {
	case FormatPcapNG:
		return "pcapng"
	case FormatVnet:
		return "vnet"
	}
	return "pcap"
}

// Sentinel errors callers can test with errors.Is.
var (
	ErrNotCapture = errors.New("not a pcap, pcapng or vnet file")
	ErrTruncated  = errors.New("file ends inside a record")
	ErrCorrupt    = errors.New("corrupt record")
	ErrTooLarge   = errors.New("frame longer than the reader accepts")
)

// Packet is one captured frame. Data is only valid until the next call to
// Reader.Next: copy it to keep it.
type Packet struct {
	Data      []byte
	Timestamp time.Time
	// Length is the frame's length on the wire; it exceeds len(Data) when the
	// capture truncated the frame.
	Length int
	// Interface is the index of the interface in Reader.Interfaces (and in the
	// pcapng file a Writer mirrors them into).
	Interface int
	// Origin, for a Reader of Merge, is the capture the packet came from:
	// 0 the first, 1 the second.
	Origin   int
	LinkType layers.LinkType
	// Comment is the pcapng record's first comment, if any.
	Comment string
	// Vnet is the record's virtio_net_hdr in a vnet file (nil otherwise),
	// as written (gso.DecodeVnetHeader reads it); a Writer of vnet files
	// writes it before Data (zeros when nil).
	Vnet []byte
	// Offset is the byte offset of the record in the file (of the
	// decompressed stream if compressed): it orders the packets of a
	// Window.
	Offset int64
	// Block, in a pcapng file, is the whole block the record is, as written
	// (its section's byte order): Data and Options are slices of it. With
	// Reader.KeepBlocks, blocks that hold no packet come as records too, with
	// Data nil and Interface -1. A Writer mirroring a pcapng file writes
	// Block as it is for those and for Verbatim packets: clear it when
	// changing a packet.
	Block []byte
	// Options are a pcapng packet block's options as written (comments,
	// flags, hashes, ...; nil elsewhere). A Writer mirroring a pcapng file
	// writes them after the packet.
	Options []byte
	// Verbatim says that only Block gives the record back exactly: a Simple
	// or obsolete Packet Block, padding that is not zero, a timestamp that
	// nanoseconds do not give back in the interface's units. Such a packet
	// is never merged.
	Verbatim bool
}

// IsBlock reports whether the record is a pcapng block that holds no packet.
func (p *Packet) IsBlock() bool { return p.Data == nil && p.Block != nil }

// Interface describes one capture interface. A pcap file has exactly one.
type Interface struct {
	LinkType    layers.LinkType
	Name        string
	Description string
	SnapLen     uint32
}

// Reader reads packets from a capture stream.
type Reader struct {
	name   string
	format Format
	closer io.Closer
	// compression is the file's; stop ends its decompression.
	compression Compression
	stop        func()

	pcap *pcapgo.Reader
	ng   *ngState
	odd  Metadata // pcap: oddities read

	vnet    bool // a vnet file
	vnetHdr int  // virtio header bytes per record

	// Every interface of the file; a pcapng file's sections number theirs
	// from 0, which map to global indices here, so that a file with several
	// sections still has one interface list.
	ifaces []Interface

	count  int64 // packets read
	offset int64 // byte offset of the next record (pcapng: of the next block past those read ahead)

	br  *bufio.Reader // the file, past what pcapgo has read
	raw rawPcap       // how the pcap's records are written
	win *window       // Window mode

	merge *merged // two captures read as one (Merge)
}

// Open opens a capture file; "-" is standard input. It is
// OpenOptions{}.Open.
func Open(path string) (*Reader, error) { return OpenOptions{}.Open(path) }

// OpenOptions control how Open reads a file.
type OpenOptions struct {
	// Wrap, if set, is given what the Reader would read (the file, or
	// standard input) and its size in bytes when it is a regular file (-1
	// otherwise), and returns what the Reader reads instead: a reader that
	// reports progress, say. Close still closes the file.
	Wrap func(r io.Reader, size int64) io.Reader
}

// Open opens a capture file; "-" is standard input, which Close leaves
// open. A file gets the kernel's advice for a file read once, front to
// back (on Linux, POSIX_FADV_SEQUENTIAL and POSIX_FADV_NOREUSE). Errors
// are os.Open's and NewReader's.
func (o OpenOptions) Open(path string) (*Reader, error) {
	stdin := path == "-"
	f, name := os.Stdin, "stdin"
	if !stdin {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, err
		}
		name = path
		advise(f)
	}
	var src io.Reader = f
	if o.Wrap != nil {
		size := int64(-1) // not a regular file, or one Stat cannot tell
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		src = o.Wrap(f, size)
	}
	r, err := NewReader(src, name)
	switch {
	case stdin:
		return r, err
	case err != nil:
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader detects the format of r from its first bytes and reads its file
// header. name is used in errors.
func NewReader(r io.Reader, name string) (*Reader, error) {
	br := bufio.NewReaderSize(r, readBuffer)
	src, comp, stop, err := decompressed(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %s stream: %v: %w", name, comp, err, ErrNotCapture)
	}
	label := name
	if comp != Uncompressed {
		br = bufio.NewReaderSize(src, readBuffer)
		label = fmt.Sprintf("%s (%s)", name, comp) // errors in the header say what was inflated
	}
	rd, err := newReader(br, label)
	if err != nil {
		stop()
		return nil, err
	}
	rd.name, rd.compression, rd.stop = name, comp, stop
	return rd, nil
}

// newReader is NewReader once what r holds is decompressed.
func newReader(br *bufio.Reader, name string) (*Reader, error) {
	magic, err := br.Peek(4)
	if err != nil {
		if len(magic) == 0 {
			return nil, fmt.Errorf("%s: empty file: %w", name, ErrNotCapture)
		}
		return nil, fmt.Errorf("%s: %d bytes, too short for a file header: %w", name, len(magic), ErrNotCapture)
	}
	rd := &Reader{name: name}
	switch {
	case string(magic) == VnetMagic[:4]:
		m, err := br.Peek(len(VnetMagic))
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: file header: %w", name, err)
		}
		if string(m) != VnetMagic {
			return nil, fmt.Errorf("%s: magic %q: %w", name, m, ErrNotCapture)
		}
		rd.format = FormatVnet
		if err := rd.readVnetHeader(br); err != nil {
			return nil, err
		}
	case magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a:
		rd.format = FormatPcapNG
		if err := rd.openNg(br); err != nil {
			return nil, err
		}
	case isPcapMagic(magic):
		rd.format = FormatPcap
		src := br
		// pcapgo reads the file header; the records are read in place
		// (window.go), which needs the magic.
		rd.raw = rawPcapOf(magic)
		p, err := pcapgo.NewReader(src)
		if err != nil {
			return nil, rd.wrapHeader(err)
		}
		rd.br = src
		// Frames above the snap length are normal in captures from TSO/GRO
		// hosts; the bound that matters is ours (MaxFrame).
		rd.pcap = p
		rd.ifaces = []Interface{{LinkType: p.LinkType(), SnapLen: p.Snaplen()}}
		rd.offset = 24
	default:
		return nil, fmt.Errorf("%s: magic %02x%02x%02x%02x: %w", name, magic[0], magic[1], magic[2], magic[3], ErrNotCapture)
	}
	return rd, nil
}

func isPcapMagic(m []byte) bool {
	le := uint32(m[0]) | uint32(m[1])<<8 | uint32(m[2])<<16 | uint32(m[3])<<24
	switch le {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return true
	}
	return false
}

func (r *Reader) wrapHeader(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: file header: %w", r.name, ErrTruncated)
	}
	return fmt.Errorf("%s: file header: %v: %w", r.name, err, ErrNotCapture)
}

// Name is the name given to NewReader (the path for Open).
func (r *Reader) Name() string { return r.name }

// Compression is how the file was compressed (found by its magic).
func (r *Reader) Compression() Compression { return r.compression }

// Format is the file format.
func (r *Reader) Format() Format { return r.format }

// Count is the number of packets read so far.
func (r *Reader) Count() int64 { return r.count }

// Interfaces lists the interfaces seen so far (pcapng files may declare more
// as they go).
func (r *Reader) Interfaces() []Interface {
	if r.merge != nil {
		return r.merge.interfaces()
	}
	return r.ifaces
}

// SectionComment is the pcapng section header's comment ("" for pcap).
func (r *Reader) SectionComment() string {
	if r.ng != nil {
		return r.ng.comment
	}
	return ""
}

// Snaplen is the pcap file's snap length (0 for pcapng).
func (r *Reader) Snaplen() uint32 {
	if r.pcap != nil {
		return r.ifaces[0].SnapLen
	}
	return 0
}

// Resolution is the pcap file's timestamp resolution; pcapng records keep
// nanoseconds.
func (r *Reader) Resolution() gopacket.TimestampResolution {
	if r.pcap != nil {
		return r.pcap.Resolution()
	}
	return gopacket.TimestampResolutionNanosecond
}

// Close closes the file opened by Open.
func (r *Reader) Close() error {
	if m := r.merge; m != nil {
		return errors.Join(m.src[0].Close(), m.src[1].Close())
	}
	if r.stop != nil {
		r.stop()
	}
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Each reads every packet to the end of the file, handing each to fn in
// one reused Packet (its Data valid until fn returns). It stops at the first
// error of the reader or of fn and returns it; the end of the file is nil.
func (r *Reader) Each(fn func(*Packet) error) error {
	var p Packet
	for {
		if err := r.Next(&p); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := fn(&p); err != nil {
			return err
		}
	}
}

// Next reads the next packet into p. It returns io.EOF at the end of the file
// and otherwise an error that names the file and the packet.
func (r *Reader) Next(p *Packet) error {
	if r.merge != nil {
		if err := r.merge.next(p); err != nil {
			return err
		}
		r.count++
		return nil
	}
	if r.vnet {
		return r.nextVnet(p)
	}
	if r.pcap != nil {
		r.ownWindow()
		return r.nextWindow(p)
	}
	return r.nextNg(p)
}

func (r *Reader) errorf(class error, format string, args ...any) error {
	where := fmt.Sprintf("packet %d", r.count+1)
	if r.pcap != nil || r.vnet {
		where += fmt.Sprintf(" (byte offset %d)", r.offset)
	}
	return fmt.Errorf("%s: %s: %s: %w", r.name, where, fmt.Sprintf(format, args...), class)
}
