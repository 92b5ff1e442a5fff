package coalesce

import (
	"errors"
	"fmt"
	"io"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// ErrAlreadyCoalesced is returned when the input of Stream already holds
// super-packets.
var ErrAlreadyCoalesced = errors.New("input is already coalesced (it has vnet comments): segment it first")

// Stream coalesces every packet of r into w, which should write pcapng.
// progress, if not nil, is called now and then with the packets read.
func Stream(r *pcaps.Reader, w *pcaps.Writer, opts Options, progress func(int64)) (*Stats, error) {
	var comment []byte
	c := New(opts, func(rec *Record) error {
		w.DeclareInterfaces(r.Interfaces())
		comment = comment[:0]
		if rec.Meta.Segs > 1 {
			comment = AppendComment(comment, &rec.Meta)
		} else if rec.Packet.Comment != "" {
			comment = append(comment, rec.Packet.Comment...)
		}
		if err := w.Write(&rec.Packet, comment); err != nil {
			return fmt.Errorf("writing: %w", err)
		}
		return nil
	})
	var p pcaps.Packet
	for {
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			return c.Stats(), err
		}
		if len(p.Comment) > len(CommentPrefix) && p.Comment[:len(CommentPrefix)] == CommentPrefix {
			return c.Stats(), fmt.Errorf("%s: packet %d: %w", r.Name(), r.Count(), ErrAlreadyCoalesced)
		}
		if err := c.Push(&p); err != nil {
			return c.Stats(), err
		}
		if progress != nil && r.Count()&0x3fff == 0 {
			progress(r.Count())
		}
	}
	if err := c.Close(); err != nil {
		return c.Stats(), err
	}
	w.DeclareInterfaces(r.Interfaces())
	return c.Stats(), w.Flush()
}

// RestoreStream segments a coalesced capture r back into the original
// packets, written to w.
func RestoreStream(r *pcaps.Reader, w *pcaps.Writer, progress func(int64)) (*Restorer, error) {
	rs := NewRestorer(func(p *pcaps.Packet) error {
		w.DeclareInterfaces(r.Interfaces())
		var comment []byte
		if p.Comment != "" {
			comment = []byte(p.Comment)
		}
		if err := w.Write(p, comment); err != nil {
			return fmt.Errorf("writing: %w", err)
		}
		return nil
	})
	var p pcaps.Packet
	for {
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			return rs, err
		}
		if err := rs.Add(&p); err != nil {
			return rs, fmt.Errorf("%s: record %d: %w", r.Name(), r.Count(), err)
		}
		if progress != nil && r.Count()&0x3fff == 0 {
			progress(r.Count())
		}
	}
	if err := rs.Close(); err != nil {
		return rs, fmt.Errorf("%s: %w", r.Name(), err)
	}
	w.DeclareInterfaces(r.Interfaces())
	return rs, w.Flush()
}
