package pcaps

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gsoreplay/gsoreplay/pcaps/pcapng"
)

// WriterOptions choose the output format.
type WriterOptions struct {
	Format Format
	// pcap only: nanosecond timestamps (magic a1b23c4d), the snap length
	// written in the file header (0 means 262144); pcap and vnet: the link
	// type used when no packet is written.
	Nanosecond bool
	SnapLen    uint32
	LinkType   layers.LinkType
	// pcapng only: the section header's comment and application name.
	Comment     string
	Application string
	// vnet only: the virtio header of every record, 10 (the default) or
	// 24 bytes (virtio_net_hdr_v1_hash_tunnel, for UDP tunnel records).
	VnetHeaderLen int
}

// Writer writes packets as pcap or pcapng. pcapng gets one interface
// description per interface declared with DeclareInterfaces, written when the
// first packet refers to it.
//
// pcapng is encoded here rather than with pcapgo.NgWriter because that takes
// packet comments as []string, an allocation per packet; super-packet
// comments are formatted into a reused buffer.
type Writer struct {
	opts   WriterOptions
	w      *bufio.Writer
	pcap   *pcapgo.Writer
	header bool            // pcap file header or pcapng section header written
	lt     layers.LinkType // pcap: the file's link type

	ifaces  []Interface
	written int // interface descriptions written
	buf     [32]byte

	// pcapng, mirroring a file read with KeepBlocks: its sections and
	// interfaces come as blocks, and packets are encoded in the current
	// section's byte order and each interface's timestamp units.
	mirror bool
	order  binary.ByteOrder
	base   int                 // global index of the section's first interface
	nIf    int                 // interfaces described so far, all sections
	res    []pcapng.Resolution // the section's interfaces
}

// NewWriter returns a Writer on w. Call Flush at the end.
func NewWriter(w io.Writer, opts WriterOptions) *Writer {
	bw := bufio.NewWriterSize(w, 256<<10)
	wr := &Writer{opts: opts, w: bw, order: binary.LittleEndian}
	if opts.Format == FormatPcap {
		if opts.Nanosecond {
			wr.pcap = pcapgo.NewWriterNanos(bw)
		} else {
			wr.pcap = pcapgo.NewWriter(bw)
		}
	}
	return wr
}

// Format is the format the writer writes.
func (w *Writer) Format() Format { return w.opts.Format }

// DeclareInterfaces makes the interfaces of list known to the writer; list
// may grow between calls (pcapng readers learn interfaces as they go).
func (w *Writer) DeclareInterfaces(list []Interface) {
	if len(list) > len(w.ifaces) {
		w.ifaces = append(w.ifaces, list[len(w.ifaces):]...)
	}
}

func (w *Writer) writeHeader(lt layers.LinkType) error {
	w.header = true
	w.lt = lt
	if w.opts.Format == FormatVnet {
		return w.writeVnetFileHeader(lt)
	}
	if w.pcap != nil {
		snap := w.opts.SnapLen
		if snap == 0 {
			snap = 262144
		}
		return w.pcap.WriteFileHeader(snap, lt)
	}
	return w.writeSection()
}

// Write writes one packet; comment, if not empty, becomes its pcapng comment
// (pcap has nowhere to put it and refuses).
//
// pcapng records of a Reader with KeepBlocks make the Writer mirror that
// file: when the first record is a section header block, every block
// record (Packet.IsBlock) is written as it is, and so is a packet's Block
// when no comment is added; other packets are encoded in the section's byte
// order and their interface's timestamp units, with their Options after the
// comment.
func (w *Writer) Write(p *Packet, comment []byte) error {
	if p.IsBlock() {
		return w.writeBlock(p.Block)
	}
	if !w.header {
		if err := w.writeHeader(p.LinkType); err != nil {
			return err
		}
	}
	if w.opts.Format == FormatVnet {
		if len(comment) > 0 {
			return fmt.Errorf("a vnet file has no packet comments")
		}
		return w.writeVnet(p)
	}
	if w.pcap != nil {
		if len(comment) > 0 {
			return fmt.Errorf("pcap has no packet comments: write pcapng")
		}
		if lt := w.lt; p.LinkType != lt {
			return fmt.Errorf("pcap holds one link type (%s), packet has %s: write pcapng", lt, p.LinkType)
		}
		return w.writePcapRecord(p)
	}
	if w.mirror {
		if p.Block != nil && len(comment) == 0 {
			_, err := w.w.Write(p.Block)
			return err
		}
		if p.Verbatim {
			return fmt.Errorf("packet kept only as its block cannot take a comment")
		}
		local := p.Interface - w.base
		if local < 0 || local >= len(w.res) {
			return fmt.Errorf("packet refers to interface %d, the section describes %d from %d", p.Interface, len(w.res), w.base)
		}
		units, ok := w.res[local].Units(p.Timestamp.UnixNano())
		if !ok {
			return fmt.Errorf("timestamp %v does not fit interface %d's units", p.Timestamp, p.Interface)
		}
		return w.writeEPB(p, uint32(local), units, comment)
	}
	if p.Interface < 0 || p.Interface >= len(w.ifaces) {
		return fmt.Errorf("packet refers to interface %d, %d declared", p.Interface, len(w.ifaces))
	}
	for w.written <= p.Interface {
		if err := w.writeInterface(w.ifaces[w.written]); err != nil {
			return err
		}
		w.written++
	}
	return w.writeEPB(p, uint32(p.Interface), uint64(p.Timestamp.UnixNano()), comment)
}

// writeBlock writes a pcapng block as it is and follows the sections and
// interfaces it declares.
func (w *Writer) writeBlock(raw []byte) error {
	if w.opts.Format != FormatPcapNG {
		return nil // pcap and vnet files have no place for it
	}
	if len(raw) < pcapng.MinBlock {
		return fmt.Errorf("pcapng block of %d bytes", len(raw))
	}
	isSection := pcapng.IsSection(raw)
	if !w.header {
		if !isSection {
			return fmt.Errorf("a mirrored pcapng file must begin with a section header block")
		}
		w.header, w.mirror = true, true
	}
	if !w.mirror {
		return fmt.Errorf("pcapng block after packets written without one: mirror a file from its section header on")
	}
	if isSection {
		order, ok := pcapng.SectionOrder(raw)
		if !ok || len(raw) < 28 {
			return fmt.Errorf("section header block of %d bytes with no byte-order magic", len(raw))
		}
		w.order = order
		w.base, w.res = w.nIf, w.res[:0]
	}
	b := pcapng.Block{Bytes: raw, Order: w.order}
	if b.Type() == pcapng.TypeInterfaceDescription {
		if _, err := b.Options(); err != nil {
			return err
		}
		w.res = append(w.res, pcapng.ResolutionOf(pcapng.InterfaceDescription{Block: b}))
		w.nIf++
	}
	_, err := w.w.Write(raw)
	return err
}

// origLen is the original length a record states: the packet's, as read
// even when below the captured length; the data's for a packet built
// without one.
func origLen(p *Packet) int {
	if p.Length <= 0 {
		return len(p.Data)
	}
	return p.Length
}

func (w *Writer) writePcapRecord(p *Packet) error {
	if len(p.Data) > 0xFFFFFFFF-16 {
		return fmt.Errorf("frame of %d bytes", len(p.Data))
	}
	t := p.Timestamp
	frac := t.Nanosecond()
	if !w.opts.Nanosecond {
		frac /= 1000
	}
	binary.LittleEndian.PutUint32(w.buf[0:4], uint32(t.Unix()))
	binary.LittleEndian.PutUint32(w.buf[4:8], uint32(frac))
	binary.LittleEndian.PutUint32(w.buf[8:12], uint32(len(p.Data)))
	binary.LittleEndian.PutUint32(w.buf[12:16], uint32(origLen(p)))
	w.w.Write(w.buf[:16])
	_, err := w.w.Write(p.Data)
	return err
}

func (w *Writer) linkType() layers.LinkType {
	if len(w.ifaces) > 0 {
		return w.ifaces[0].LinkType
	}
	return w.opts.LinkType
}

// Flush writes the file header if no packet was written, then buffered data.
func (w *Writer) Flush() error {
	if !w.header {
		if err := w.writeHeader(w.linkType()); err != nil {
			return err
		}
	}
	return w.w.Flush()
}

// pcapng encoding (draft-ietf-opsawg-pcapng), little endian.

const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 0x00000001
	blockEPB = 0x00000006

	optEnd         = 0
	optComment     = 1
	optShbUserAppl = 4
	optIfName      = 2
	optIfDesc      = 3
	optIfTsresol   = 9
)

func optLen(v []byte) int { return 4 + (len(v)+3)&^3 }

func (w *Writer) putOpt(code uint16, v []byte) {
	if len(v) == 0 {
		return
	}
	w.order.PutUint16(w.buf[0:2], code)
	w.order.PutUint16(w.buf[2:4], uint16(len(v)))
	w.w.Write(w.buf[:4])
	w.w.Write(v)
	w.pad(len(v))
}

func (w *Writer) pad(n int) {
	var zero [4]byte
	w.w.Write(zero[:(4-n&3)&3])
}

// putU32 returns bufio's sticky error, so the block's last write reports any
// failure of the writes before it.
func (w *Writer) putU32(v uint32) error {
	w.order.PutUint32(w.buf[:4], v)
	_, err := w.w.Write(w.buf[:4])
	return err
}

func optsLen(opts ...[]byte) int {
	n := 0
	for _, o := range opts {
		if len(o) > 0 {
			n += optLen(o)
		}
	}
	if n > 0 {
		n += 4 // opt_endofopt
	}
	return n
}

func clip(s string) []byte {
	if len(s) > 0xFFFF {
		s = s[:0xFFFF]
	}
	return []byte(s)
}

func (w *Writer) writeSection() error {
	comment, app := clip(w.opts.Comment), clip(w.opts.Application)
	n := 28 + optsLen(comment, app)
	w.putU32(blockSHB)
	w.putU32(uint32(n))
	w.putU32(0x1A2B3C4D)
	binary.LittleEndian.PutUint16(w.buf[0:2], 1)
	binary.LittleEndian.PutUint16(w.buf[2:4], 0)
	binary.LittleEndian.PutUint64(w.buf[4:12], ^uint64(0))
	w.w.Write(w.buf[:12])
	if n > 28 {
		w.putOpt(optComment, comment)
		w.putOpt(optShbUserAppl, app)
		w.putU32(optEnd)
	}
	return w.putU32(uint32(n))
}

func (w *Writer) writeInterface(in Interface) error {
	name, desc := clip(in.Name), clip(in.Description)
	tsresol := []byte{9}
	n := 20 + optsLen(name, desc, tsresol)
	w.putU32(blockIDB)
	w.putU32(uint32(n))
	binary.LittleEndian.PutUint16(w.buf[0:2], uint16(in.LinkType))
	binary.LittleEndian.PutUint16(w.buf[2:4], 0)
	w.w.Write(w.buf[:4])
	// Snap length 0 (no limit): super-packets exceed the original one.
	w.putU32(0)
	w.putOpt(optIfName, name)
	w.putOpt(optIfDesc, desc)
	w.putOpt(optIfTsresol, tsresol)
	w.putU32(optEnd)
	return w.putU32(uint32(n))
}

// writeEPB writes an Enhanced Packet Block: the comment, then the packet's
// Options as they are. A generated file (not a mirror) ends its options
// with opt_endofopt; a mirrored packet's options end as they were written.
func (w *Writer) writeEPB(p *Packet, iface uint32, ts uint64, comment []byte) error {
	if len(comment) > 0xFFFF {
		return fmt.Errorf("packet comment of %d bytes exceeds pcapng's 65535", len(comment))
	}
	opts := len(p.Options)
	if len(comment) > 0 {
		opts += optLen(comment)
		if !w.mirror {
			opts += 4
		}
	}
	n := 32 + (len(p.Data)+3)&^3 + opts
	if n > 0xFFFFFFFF-3 {
		return fmt.Errorf("packet block of %d bytes", n)
	}
	w.putU32(blockEPB)
	w.putU32(uint32(n))
	w.putU32(iface)
	w.putU32(uint32(ts >> 32))
	w.putU32(uint32(ts))
	w.putU32(uint32(len(p.Data)))
	w.putU32(uint32(origLen(p)))
	w.w.Write(p.Data)
	w.pad(len(p.Data))
	if len(comment) > 0 {
		w.putOpt(optComment, comment)
		if !w.mirror {
			w.putU32(optEnd)
		}
	}
	w.w.Write(p.Options)
	return w.putU32(uint32(n))
}
