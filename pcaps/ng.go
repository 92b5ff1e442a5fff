package pcaps

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/pcapng"
)

// ngState is a pcapng Reader's: the block reader, the interfaces of the
// current section, and the blocks read ahead by NewReader.
type ngState struct {
	br *pcapng.Reader
	// The current section: its first interface's global index, each of
	// its interfaces' resolution, its first comment.
	base    int
	res     []pcapng.Resolution
	snap    []uint32
	comment string
	// Blocks NewReader read to learn the first interfaces, handed out
	// before any other (copies, so that reading on does not overwrite them).
	ahead [][]byte
	// order is the current section's byte order (of the blocks read ahead
	// as they are handed out, then of the ring's); at is the offset of the
	// block read last.
	order   binary.ByteOrder
	at      int64
	aheadAt int64 // the offset of the next block read ahead
	keep    bool  // KeepBlocks
	block   int64 // blocks read
	// What the file holds besides packets, counted (Metadata).
	meta Metadata
}

// maxAhead bounds what NewReader reads past the section header to learn the
// interfaces before the first packet.
const maxAhead = 4 << 20

// maxBlockNG is the longest block a Reader takes: the longest frame, with
// room for the options of its block, or a block of metadata (decryption
// secrets of a long capture may take megabytes).
const maxBlockNG = MaxFrame + maxAhead

// Metadata counts what a pcapng file holds besides packets, and the oddities
// of records that are read but not as tools usually write them.
type Metadata struct {
	Sections   int64 `json:"sections"`
	Interfaces int64 `json:"interfaces"`
	// Blocks by kind: name resolution, interface statistics, decryption
	// secrets, custom (copyable / do-not-copy), other types.
	NameResolution      int64 `json:"name_resolution,omitempty"`
	InterfaceStatistics int64 `json:"interface_statistics,omitempty"`
	DecryptionSecrets   int64 `json:"decryption_secrets,omitempty"`
	Custom              int64 `json:"custom,omitempty"`
	CustomNoCopy        int64 `json:"custom_no_copy,omitempty"`
	Unknown             int64 `json:"unknown_blocks,omitempty"`
	// Packet blocks other than Enhanced, and packets with options.
	SimplePackets   int64 `json:"simple_packet_blocks,omitempty"`
	ObsoletePackets int64 `json:"obsolete_packet_blocks,omitempty"`
	PacketOptions   int64 `json:"packets_with_options,omitempty"`
	// Oddities read anyway (pcap and pcapng): a captured length above the
	// original length; pcapng padding that is not zero; a timestamp that
	// nanoseconds cannot give back in the interface's units.
	CapturedOverOriginal int64 `json:"captured_over_original,omitempty"`
	OddPadding           int64 `json:"nonzero_padding,omitempty"`
	InexactTimestamps    int64 `json:"inexact_timestamps,omitempty"`
}

// Metadata is what the file held besides packets so far.
func (r *Reader) Metadata() Metadata {
	if r.ng == nil {
		return r.odd
	}
	m := r.ng.meta
	m.CapturedOverOriginal += r.odd.CapturedOverOriginal
	return m
}

// KeepBlocks makes Next hand out, besides packets, every block of a pcapng
// file that holds none — section headers, interface descriptions, name
// resolution, statistics, decryption secrets, custom and unknown blocks —
// as records with Data nil and Block set, in file order: what a Writer needs
// to give the file back as it was. Call it before the first Next; it does
// nothing for other formats.
func (r *Reader) KeepBlocks() {
	if r.ng != nil {
		r.ng.keep = true
	}
}

func (r *Reader) openNg(br *bufio.Reader) error {
	r.ng = &ngState{br: pcapng.NewReader(br)}
	r.ng.br.Max = maxBlockNG
	// Read the section header and the blocks after it up to the first
	// packet, so that Interfaces and SectionComment are known at once.
	size := 0
	for {
		b, err := r.ng.br.Next()
		if err == io.EOF && len(r.ng.ahead) > 0 {
			break
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return r.ngError(err, true)
		}
		if !b.IsPacket() {
			if err := r.ngMeta(b); err != nil {
				return err
			}
		}
		r.ng.ahead = append(r.ng.ahead, append([]byte(nil), b.Bytes...))
		size += len(b.Bytes)
		if b.Type() != pcapng.TypeSectionHeader && b.Type() != pcapng.TypeInterfaceDescription || size > maxAhead {
			break
		}
	}
	// The rest is read through a ring (window.go), from where the blocks
	// read ahead end.
	r.br, r.offset = br, int64(size)
	return nil
}

// ngMeta takes in a block that holds no packet: sections and interfaces
// change the state, the rest is counted.
func (r *Reader) ngMeta(b pcapng.Block) error {
	s := r.ng
	switch b.Type() {
	case pcapng.TypeSectionHeader:
		s.meta.Sections++
		s.base, s.res, s.snap, s.comment = len(r.ifaces), s.res[:0], s.snap[:0], ""
		o, err := b.Options()
		if err != nil {
			return r.ngError(err, false)
		}
		if v, ok := o.First(pcapng.OptComment); ok {
			s.comment = string(v)
		}
	case pcapng.TypeInterfaceDescription:
		s.meta.Interfaces++
		o, err := b.Options()
		if err != nil {
			return r.ngError(err, false)
		}
		d := pcapng.InterfaceDescription{Block: b}
		in := Interface{LinkType: layers.LinkType(d.LinkType()), SnapLen: d.SnapLen()}
		if v, ok := o.First(optIfName); ok {
			in.Name = string(v)
		}
		if v, ok := o.First(optIfDesc); ok {
			in.Description = string(v)
		}
		r.ifaces = append(r.ifaces, in)
		s.res = append(s.res, pcapng.ResolutionOf(d))
		s.snap = append(s.snap, d.SnapLen())
	case pcapng.TypeNameResolution:
		s.meta.NameResolution++
	case pcapng.TypeInterfaceStatistics:
		s.meta.InterfaceStatistics++
	case pcapng.TypeDecryptionSecrets:
		s.meta.DecryptionSecrets++
	case pcapng.TypeCustom:
		s.meta.Custom++
	case pcapng.TypeCustomNoCopy:
		s.meta.CustomNoCopy++
	default:
		s.meta.Unknown++
	}
	return nil
}

// nextNg is Next for pcapng.
func (r *Reader) nextNg(p *Packet) error {
	s := r.ng
	for {
		var b pcapng.Block
		if len(s.ahead) > 0 {
			// Read ahead by NewReader and taken in already.
			raw := s.ahead[0]
			s.ahead = s.ahead[1:]
			b = pcapng.Block{Bytes: raw, Order: s.orderOf(raw)}
			s.at = s.aheadAt
			s.aheadAt += int64(len(raw))
			if !b.IsPacket() {
				s.block++
				if s.keep {
					*p = Packet{Block: raw, Interface: -1, Offset: s.at}
					return nil
				}
				continue
			}
		} else {
			var err error
			if b, err = r.nextBlock(); err == io.EOF {
				return io.EOF
			} else if err != nil {
				return err
			}
			if !b.IsPacket() {
				s.block++
				if err := r.ngMeta(b); err != nil {
					return err
				}
				if s.keep {
					*p = Packet{Block: b.Bytes, Interface: -1, Offset: s.at}
					return nil
				}
				continue
			}
		}
		s.block++
		return r.ngPacket(b, p)
	}
}

// nextBlock reads the next block in the ring, where it stays (its offset
// becomes the packet's).
func (r *Reader) nextBlock() (pcapng.Block, error) {
	r.ownWindow()
	w, s := r.win, r.ng
	head := 8
	ok, err := r.fill(head)
	if err == nil && ok && pcapng.IsSection(w.buf[w.start:w.end]) {
		head = 12 // a section header: its byte-order magic follows
		ok, err = r.fill(head)
	}
	switch {
	case err != nil:
		return pcapng.Block{}, r.ngRead(err)
	case !ok && w.end == w.start:
		return pcapng.Block{}, io.EOF
	case !ok:
		return pcapng.Block{}, r.ngError(r.ngAt(fmt.Errorf("%d bytes of a block header: %w", w.end-w.start, pcapng.ErrTruncated)), false)
	}
	length, order, err := pcapng.Header(w.buf[w.start:w.start+head], s.order, maxBlockNG)
	if err != nil {
		return pcapng.Block{}, r.ngError(r.ngAt(err), false)
	}
	if ok, err := r.fill(length); err != nil {
		return pcapng.Block{}, r.ngRead(err)
	} else if !ok {
		return pcapng.Block{}, r.ngError(r.ngAt(fmt.Errorf("%d of %d bytes: %w", w.end-w.start, length, pcapng.ErrTruncated)), false)
	}
	b := pcapng.Block{Bytes: w.buf[w.start : w.start+length : w.start+length], Order: order}
	if err := pcapng.Check(b); err != nil {
		return pcapng.Block{}, r.ngError(r.ngAt(err), false)
	}
	if b.Type() == pcapng.TypeSectionHeader {
		s.order = order
	}
	w.start += length
	s.at = r.offset
	r.offset += int64(length)
	return b, nil
}

// ngAt names the byte offset of the block being read.
func (r *Reader) ngAt(err error) error { return fmt.Errorf("byte offset %d: %w", r.offset, err) }

// ngRead is an error of the ring's reads: the reclaim callback's as it
// gave it, the file's named.
func (r *Reader) ngRead(err error) error {
	if re, ok := err.(reclaimError); ok {
		return re.error
	}
	return r.ngError(r.ngAt(err), false)
}

// orderOf gives a read-ahead block its section's byte order: the section
// header carries its own; the blocks after it share it.
func (s *ngState) orderOf(raw []byte) binary.ByteOrder {
	if o, ok := pcapng.SectionOrder(raw); ok {
		s.order = o
	}
	return s.order
}

func (r *Reader) ngPacket(b pcapng.Block, p *Packet) error {
	s := r.ng
	typ := b.Type()
	local := 0
	if typ != pcapng.TypeSimplePacket {
		// The interface field comes first in both other packet blocks.
		if len(b.Bytes) >= 16 {
			local = int(b.Order.Uint32(b.Bytes[8:12]))
			if typ == pcapng.TypeObsoletePacket {
				local = int(b.Order.Uint16(b.Bytes[8:10]))
			}
		}
	}
	if local < 0 || local >= len(s.res) {
		return r.errorf(ErrCorrupt, "interface %d not declared", local)
	}
	pk, err := b.Packet(s.snap[local])
	if err != nil {
		return r.ngError(err, false)
	}
	if len(pk.Data) > MaxFrame {
		return r.errorf(ErrTooLarge, "%d bytes > %d", len(pk.Data), MaxFrame)
	}
	*p = Packet{
		Data:      pk.Data,
		Length:    int(pk.Length),
		Interface: s.base + local,
		LinkType:  r.ifaces[s.base+local].LinkType,
		Block:     b.Bytes,
		Options:   pk.Options.Bytes,
		Offset:    s.at,
		// Simple Packet Blocks have no timestamp; the epoch survives a
		// round trip through any writer, Go's zero time does not.
		Timestamp: time.Unix(0, 0).UTC(),
	}
	switch typ {
	case pcapng.TypeSimplePacket:
		s.meta.SimplePackets++
		p.Verbatim = true
	case pcapng.TypeObsoletePacket:
		s.meta.ObsoletePackets++
		p.Verbatim = true
	}
	if pk.HasTimestamp {
		ns, exact := s.res[local].Nanoseconds(pk.Timestamp)
		if !exact {
			s.meta.InexactTimestamps++
			p.Verbatim = true
		}
		p.Timestamp = time.Unix(0, ns).UTC()
	}
	for _, x := range pk.Padding {
		if x != 0 {
			s.meta.OddPadding++
			p.Verbatim = true
			break
		}
	}
	if len(pk.Options.Bytes) > 0 {
		s.meta.PacketOptions++
		if v, ok := pk.Options.First(pcapng.OptComment); ok {
			p.Comment = string(v)
		}
	}
	if p.Length < len(p.Data) {
		s.meta.CapturedOverOriginal++
	}
	r.count++
	return nil
}

// ngError names the file and the place of a block reader's error.
func (r *Reader) ngError(err error, header bool) error {
	class := ErrCorrupt
	switch {
	case errors.Is(err, pcapng.ErrTruncated), errors.Is(err, io.ErrUnexpectedEOF):
		class = ErrTruncated
	case errors.Is(err, pcapng.ErrTooLong):
		class = ErrTooLarge
	case header:
		class = ErrNotCapture
	}
	where := "file header"
	if !header {
		where = fmt.Sprintf("block %d", r.ng.block+1)
	}
	return fmt.Errorf("%s: %s: %w", r.name, where, classed{err, class})
}

// classed is a block reader's error that also is one of this package's
// classes (errors.Is), without saying so twice in its text.
type classed struct{ err, class error }

func (c classed) Error() string   { return c.err.Error() }
func (c classed) Unwrap() []error { return []error{c.err, c.class} }
