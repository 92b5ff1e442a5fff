package coalesce

import "time"

// Borrow switches the coalescer to borrow mode, before the first Push: it
// no longer copies what it is pushed but keeps slices of the packets, so
// that a super-packet goes to the kernel as its rebuilt headers
// (Record.Packet.Data, the coalescer's) followed by the payloads where the
// capture holds them (Record.Parts), and a packet sent alone as its own
// bytes (Record.Borrowed). The caller must keep every pushed packet's Data
// valid and unchanged until the records that hold it have been emitted and
// sent; ExpireBefore emits the records that hold packets it wants back.
// The records' bytes are those of the copying mode.
func (c *Coalescer) Borrow() { c.borrow = true }

// ExpireBefore ends the runs that hold packets read before offset (by
// pcaps.Packet.Offset, which must grow with every push) and emits every
// record that holds one, so that the caller may reuse those packets'
// memory once the records are sent. Only borrow mode needs it.
func (c *Coalescer) ExpireBefore(offset int64) error {
	for c.queue.len() > 0 {
		h := c.queue.front()
		if h.pkt.Offset >= offset {
			return nil
		}
		c.closeRun(h, ReasonHeld)
		if err := c.drain(); err != nil {
			return err
		}
	}
	return nil
}

// gather appends the run's frame, headers and payloads, to dst (borrow
// mode).
func (r *run) gather(dst []byte) []byte {
	dst = append(dst, r.buf...)
	for _, p := range r.parts {
		dst = append(dst, p...)
	}
	return dst
}

// emitWholes gives back, in borrow mode, the fragments of a train that did
// not become a super-packet: the very packets that were pushed.
func (c *Coalescer) emitWholes(r *run) error {
	ts := r.pkt.Timestamp
	for k, w := range r.wholes {
		if k > 0 {
			ts = ts.Add(time.Duration(r.deltas[k-1]))
		}
		rec := &c.rec
		rec.Packet = r.pkt
		rec.Packet.Data, rec.Packet.Length, rec.Packet.Timestamp = w, len(w), ts
		rec.Meta, rec.Parts, rec.Borrowed = Meta{Segs: 1}, nil, true
		c.stats.Records++
		if err := c.emit(rec); err != nil {
			return err
		}
	}
	return nil
}
