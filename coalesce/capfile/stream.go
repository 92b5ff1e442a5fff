package capfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/pcapng"
)

// ErrAlreadyCoalesced is returned when the input of Coalesce already holds
// super-packets.
var ErrAlreadyCoalesced = errors.New("input is already coalesced (vnet comments or a vnet file): segment it first")

// Coalesce coalesces every packet of r into w, which should write pcapng (a
// virtio header per super-packet in its comment, timestamps and places kept)
// or vnet records (a virtio header per record; no timestamps, and segments
// of per-flow merges no longer between other flows' packets).
// progress, if not nil, is called now and then with the packets read.
//
// A pcapng capture into pcapng keeps all of itself: every block in its
// place, each section header marked with the Origin comment, packets passed
// through as their very blocks, super-packets as Enhanced Packet Blocks
// with the virtio header's comment before their segments' options. Custom
// blocks of the do-not-copy type are dropped, as the pcapng specification
// requires, and counted (Stats.NoCopyDropped).
//
// Reading and classifying packets (the checksums are the cost) runs on one
// goroutine and merging and writing on another, handed over in batches of
// about a MiB, so that two cores share the work; memory stays bounded by the
// few batches in flight.
//
// edit, if given, changes each record on its way out (a rewrite.Rewriter's
// Record): merge decisions stay with the original frames.
func Coalesce(r *pcaps.Reader, w *pcaps.Writer, opts coalesce.Options, progress func(int64), edit ...func(*coalesce.Record)) (*coalesce.Stats, error) {
	if r.Format() == pcaps.FormatVnet {
		return nil, fmt.Errorf("%s: %w", r.Name(), ErrAlreadyCoalesced)
	}
	var comment, section []byte
	var hdr [gso.VnetTunnelHeaderLen]byte
	vnet := w.Format() == pcaps.FormatVnet
	if vnet && opts.TunnelGSO && w.VnetHeaderLen() != gso.VnetTunnelHeaderLen {
		return nil, fmt.Errorf("tunnel GSO needs vnet records with the %d-byte header (WriterOptions.VnetHeaderLen)", gso.VnetTunnelHeaderLen)
	}
	mirror := r.Format() == pcaps.FormatPcapNG && w.Format() == pcaps.FormatPcapNG
	if mirror {
		r.KeepBlocks()
	}
	c := coalesce.New(opts, func(rec *coalesce.Record) error {
		for _, e := range edit {
			e(rec)
		}
		if mirror {
			p := &rec.Packet
			comment = comment[:0]
			switch {
			case p.IsBlock() && pcapng.IsSection(p.Block):
				var err error
				if section, err = markSection(section[:0], p.Block); err != nil {
					return fmt.Errorf("%s: %w", r.Name(), err)
				}
				p.Block = section
			case rec.Meta.Segs > 1:
				comment = coalesce.AppendComment(comment, &rec.Meta)
			}
			if err := w.Write(p, comment); err != nil {
				return fmt.Errorf("writing: %w", err)
			}
			return nil
		}
		if vnet {
			if w.VnetHeaderLen() == gso.VnetTunnelHeaderLen {
				rec.Meta.Vnet.EncodeTunnel(hdr[:])
				rec.Packet.Vnet = hdr[:]
			} else {
				rec.Meta.Vnet.Encode(hdr[:])
				rec.Packet.Vnet = hdr[:gso.VnetHeaderLen]
			}
			if err := w.Write(&rec.Packet, nil); err != nil {
				return fmt.Errorf("writing: %w", err)
			}
			return nil
		}
		w.DeclareInterfaces(r.Interfaces())
		comment = comment[:0]
		if rec.Meta.Segs > 1 {
			comment = coalesce.AppendComment(comment, &rec.Meta)
		} else if rec.Packet.Comment != "" {
			comment = append(comment, rec.Packet.Comment...)
		}
		if err := w.Write(&rec.Packet, comment); err != nil {
			return fmt.Errorf("writing: %w", err)
		}
		return nil
	})
	full := make(chan *batch, batches-1)
	free := make(chan *batch, batches)
	done := make(chan struct{})
	for range batches {
		free <- &batch{arena: make([]byte, 0, batchBytes)}
	}
	go readBatches(r, full, free, done)
	defer close(done)
	var read int64
	st := c.Stats()
	var order binary.ByteOrder // of the current pcapng section
	for b := range full {
		for i := range b.pkts {
			if p := &b.pkts[i]; p.IsBlock() {
				if o, ok := pcapng.SectionOrder(p.Block); ok {
					order = o
				}
				if order != nil && order.Uint32(p.Block[0:4]) == pcapng.TypeCustomNoCopy {
					st.NoCopyDropped++
					continue
				}
			}
			if err := c.PushClassified(&b.pkts[i], &b.cls[i]); err != nil {
				return c.Stats(), err
			}
		}
		if b.err != nil {
			return c.Stats(), b.err
		}
		if progress != nil && b.count>>14 != read>>14 {
			progress(b.count)
		}
		read = b.count
		if b.last {
			break
		}
		free <- b
	}
	if err := c.Close(); err != nil {
		return c.Stats(), err
	}
	w.DeclareInterfaces(r.Interfaces())
	return c.Stats(), w.Flush()
}

const (
	batches    = 4
	batchBytes = 1 << 20
)

// batch is a run of packets read and classified ahead of the coalescer.
type batch struct {
	arena []byte
	pkts  []pcaps.Packet
	cls   []coalesce.Classified
	count int64 // packets read when the batch was sent
	err   error // the read error that ended the stream, if any
	last  bool
}

func readBatches(r *pcaps.Reader, full chan<- *batch, free <-chan *batch, done <-chan struct{}) {
	defer close(full)
	var p pcaps.Packet
	for {
		var b *batch
		select {
		case b = <-free:
		case <-done:
			return
		}
		b.arena, b.pkts, b.cls = b.arena[:0], b.pkts[:0], b.cls[:0]
		for len(b.arena) < batchBytes/2 && len(b.pkts) < 4096 {
			err := r.Next(&p)
			if err == io.EOF {
				b.last = true
				break
			}
			if err == nil && strings.HasPrefix(p.Comment, coalesce.CommentPrefix) {
				err = fmt.Errorf("%s: packet %d: %w", r.Name(), r.Count(), ErrAlreadyCoalesced)
			}
			if err != nil {
				b.err, b.last = err, true
				break
			}
			start, n := len(b.arena), p.Size()
			if start+n > cap(b.arena) {
				// Records above the arena's room go to their own memory.
				p.CopyInto(make([]byte, n))
			} else {
				b.arena = b.arena[:start+n]
				p.CopyInto(b.arena[start:])
			}
			b.pkts = append(b.pkts, p)
			b.cls = append(b.cls, coalesce.Classified{})
			b.cls[len(b.cls)-1].Classify(&b.pkts[len(b.pkts)-1])
		}
		b.count = r.Count()
		select {
		case full <- b:
		case <-done:
			return
		}
		if b.last {
			return
		}
	}
}
