package capfile

import (
	"errors"
	"fmt"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/pcapng"
)

// Restore limits: how far ahead of the next packet a segment may be placed,
// and how many bytes may wait. The coalescer's MaxHeld keeps real files far
// below both.
const (
	maxReorder      = 1 << 16
	maxPendingBytes = 32 << 20
)

// ErrIncomplete reports a coalesced file whose records leave holes.
var ErrIncomplete = errors.New("coalesced file is inconsistent")

// slot is a record waiting for its place: a copy of the packet (or pcapng
// block) in buf.
type slot struct {
	full bool
	pkt  pcaps.Packet
	buf  []byte
}

// Restorer undoes a Coalescer: it segments each super-packet with the
// reference Segmenter, gives every segment its original timestamp, and puts
// segments of per-flow super-packets back between the packets of other flows
// where the capture had them. Packets come out through emit in the original
// order; Packet.Data is valid until emit returns.
type Restorer struct {
	seg     gso.Segmenter
	emit    func(*pcaps.Packet) error
	slots   []slot
	next    int64 // index of the next packet to emit
	pending int
	bytes   int
	meta    coalesce.Meta
	out     pcaps.Packet
	Records int64 // records read
	Supers  int64 // super-packets among them
	Blocks  int64 // pcapng blocks holding no packet among them
}

// NewRestorer returns a Restorer that hands packets to emit.
func NewRestorer(emit func(*pcaps.Packet) error) *Restorer {
	return &Restorer{emit: emit, slots: make([]slot, 64)}
}

// Add takes one record of a coalesced file: a pcapng record whose comment
// may hold a virtio header, or a record of a vnet file (p.Vnet).
func (r *Restorer) Add(p *pcaps.Packet) error {
	r.Records++
	if p.IsBlock() {
		r.Blocks++
	}
	if p.Vnet != nil {
		return r.addVnet(p)
	}
	isVnet, err := coalesce.ParseComment(p.Comment, &r.meta)
	if err != nil {
		return err
	}
	if !isVnet {
		if r.pending == 0 {
			r.next++
			return r.emit(p)
		}
		if err := r.place(r.next, p); err != nil {
			return err
		}
		return r.flush()
	}
	r.Supers++
	m := &r.meta
	// The segments' pcapng options: the super-packet's after the virtio
	// header's comment, which the coalescer put first.
	opts := withoutComment(p.Options, p.Comment)
	segs, err := r.seg.Segment(p.Data, p.LinkType, m.Vnet)
	if err != nil {
		return err
	}
	if len(segs) != m.Segs {
		return fmt.Errorf("%w: segmentation gives %d frames, the record says segs=%d", ErrIncomplete, len(segs), m.Segs)
	}
	ts := p.Timestamp
	if r.pending == 0 && len(m.Skips) == 0 {
		// Nothing to reorder: emit straight from the segmenter's buffer.
		for k, seg := range segs {
			if k > 0 {
				ts = ts.Add(time.Duration(m.Deltas[k-1]))
			}
			r.out = pcaps.Packet{Data: seg, Timestamp: ts, Length: len(seg), Interface: p.Interface, LinkType: p.LinkType, Options: opts}
			r.next++
			if err := r.emit(&r.out); err != nil {
				return err
			}
		}
		return nil
	}
	pos := r.next
	for k, seg := range segs {
		if k > 0 {
			ts = ts.Add(time.Duration(m.Deltas[k-1]))
			pos++
			if len(m.Skips) > 0 {
				pos += int64(m.Skips[k-1])
			}
		}
		r.out = pcaps.Packet{Data: seg, Timestamp: ts, Length: len(seg), Interface: p.Interface, LinkType: p.LinkType, Options: opts}
		if err := r.place(pos, &r.out); err != nil {
			return err
		}
	}
	return r.flush()
}

// addVnet segments a record of a vnet file. Such files keep no timestamps and
// no places between other flows: segments follow each other in record order.
func (r *Restorer) addVnet(p *pcaps.Packet) error {
	h, err := gso.DecodeVnet(p.Vnet)
	if err != nil {
		return err
	}
	if h.GSOType != gso.None {
		r.Supers++
	}
	segs, err := r.seg.Segment(p.Data, p.LinkType, h)
	if err != nil {
		return err
	}
	for _, seg := range segs {
		r.out = pcaps.Packet{Data: seg, Timestamp: p.Timestamp, Length: len(seg), Interface: p.Interface, LinkType: p.LinkType}
		r.next++
		if err := r.emit(&r.out); err != nil {
			return err
		}
	}
	return nil
}

func (r *Restorer) place(pos int64, p *pcaps.Packet) error {
	ahead := pos - r.next
	if ahead >= maxReorder {
		return fmt.Errorf("%w: a segment belongs %d packets ahead (at most %d)", ErrIncomplete, ahead, maxReorder)
	}
	for ahead >= int64(len(r.slots)) {
		r.growSlots()
	}
	s := &r.slots[pos&int64(len(r.slots)-1)]
	if s.full {
		return fmt.Errorf("%w: two records claim packet %d", ErrIncomplete, pos+1)
	}
	n := p.Size()
	if r.bytes+n > maxPendingBytes {
		return fmt.Errorf("%w: more than %d MiB wait to be reordered", ErrIncomplete, maxPendingBytes>>20)
	}
	s.full = true
	s.buf = append(s.buf[:0], make([]byte, n)...)
	s.pkt = *p
	s.pkt.CopyInto(s.buf)
	r.pending++
	r.bytes += n
	return nil
}

// withoutComment is a super-packet's pcapng options without the first,
// the comment c, or nil when the options do not begin with it.
func withoutComment(opts []byte, c string) []byte {
	n := 4 + (len(c)+3)&^3
	if len(opts) < n || string(opts[4:4+len(c)]) != c {
		return nil
	}
	le := opts[0] == 1 && opts[1] == 0 && int(opts[2])|int(opts[3])<<8 == len(c)
	be := opts[0] == 0 && opts[1] == 1 && int(opts[3])|int(opts[2])<<8 == len(c)
	if !le && !be {
		return nil
	}
	return opts[n:]
}

func (r *Restorer) growSlots() {
	ns := make([]slot, 2*len(r.slots))
	for i := int64(0); i < int64(len(r.slots)); i++ {
		old := r.slots[(r.next+i)&int64(len(r.slots)-1)]
		ns[(r.next+i)&int64(len(ns)-1)] = old
	}
	r.slots = ns
}

func (r *Restorer) flush() error {
	for r.pending > 0 {
		s := &r.slots[r.next&int64(len(r.slots)-1)]
		if !s.full {
			return nil
		}
		r.out = s.pkt
		s.full = false
		r.pending--
		r.bytes -= len(s.buf)
		r.next++
		if err := r.emit(&r.out); err != nil {
			return err
		}
	}
	return nil
}

// Emitted is the number of records handed to emit so far: packets, and
// pcapng blocks holding none (Blocks).
func (r *Restorer) Emitted() int64 { return r.next }

// Close reports segments still waiting for packets that never came.
func (r *Restorer) Close() error {
	if r.pending > 0 {
		return fmt.Errorf("%w: %d segments wait for packet %d, which no record provides", ErrIncomplete, r.pending, r.next+1)
	}
	return nil
}

// Restore segments a coalesced capture r back into the original
// packets, written to w. A coalesced pcapng capture into pcapng comes back
// whole: every block, each section header as it was.
func Restore(r *pcaps.Reader, w *pcaps.Writer, progress func(int64)) (*Restorer, error) {
	origin, _ := ParseOrigin(r.SectionComment())
	mirror := origin.Format == pcaps.FormatPcapNG && r.Format() == pcaps.FormatPcapNG
	if mirror {
		r.KeepBlocks()
	}
	var section []byte
	rs := NewRestorer(func(p *pcaps.Packet) error {
		var comment []byte
		switch {
		case mirror && p.IsBlock() && pcapng.IsSection(p.Block):
			var err error
			if section, err = unmarkSection(section[:0], p.Block); err != nil {
				return fmt.Errorf("%s: %w", r.Name(), err)
			}
			p.Block = section
		case mirror:
			// Comments are among the packet's options.
		default:
			w.DeclareInterfaces(r.Interfaces())
			if p.Comment != "" {
				comment = []byte(p.Comment)
			}
		}
		if err := w.Write(p, comment); err != nil {
			return fmt.Errorf("writing: %w", err)
		}
		return nil
	})
	err := r.Each(func(p *pcaps.Packet) error {
		if err := rs.Add(p); err != nil {
			return fmt.Errorf("%s: record %d: %w", r.Name(), r.Count(), err)
		}
		if progress != nil && r.Count()&0x3fff == 0 {
			progress(r.Count())
		}
		return nil
	})
	if err != nil {
		return rs, err
	}
	if err := rs.Close(); err != nil {
		return rs, fmt.Errorf("%s: %w", r.Name(), err)
	}
	w.DeclareInterfaces(r.Interfaces())
	return rs, w.Flush()
}
