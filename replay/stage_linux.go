package replay

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Sizes of what the making stage hands the sending stage at a time: items,
// the payload slices of their super-packets, and the bytes of frames it
// copies (rebuilt headers, frames that are not the capture's own).
const (
	stageItems = 128
	stageParts = 4096
	stageBytes = 256 << 10
)

// stageQueue is how many batches may wait between two stages. What bounds
// how far ahead the reading stage runs is the ring and its marks, not the
// queues.
const stageQueue = 8

// stageBatch is what the making stage hands on: items ready to send, and
// marks: once everything before a mark is sent, the sending stage says so
// (released), and the ring before the mark's offset may be overwritten.
type stageBatch struct {
	msgs  []stageMsg
	parts [][]byte // Item.Parts point into it
	bytes []byte   // Item.Frame points into it when the frame is copied
}

type stageMsg struct {
	item  item
	mark  int64     // a mark when not 0
	begin time.Time // the clock starts at the capture's first packet
}

// staged runs one pipeline's pass over a pcap in three stages on three
// goroutines. The reading stage reads the file into the pipeline's ring
// and keeps the packets its Steer gives the pipeline; the making stage
// classifies them (headers, checksums) and coalesces them, borrowing the
// packets in place (Source in borrow mode); the sending stage paces the
// items and sends them. They run at once: on two cores a pass takes about
// as long as its busiest stage, well under reading and making in one stage
// (bench/NOTES.md).
//
// The ring comes round only once what lies in the part it will overwrite
// is sent: every eighth of a ring the reading stage marks its queue with
// the offset half a ring behind; the making stage, meeting a mark, expires
// the runs that began before it (Source.Expire) and passes it on; the
// sending stage, meeting it, flushes its sender and says how far it got.
// Before it overwrites, the reading stage waits for that, so it is never
// more than half a ring ahead.
func (st *runState) staged(p *pipeline, r *pcaps.Reader, n int, borrow bool) error {
	ctx, cancel := context.WithCancel(st.ctx)
	defer cancel()
	if k := p.src.keeper; k != nil {
		// The ring is the next pass's, or freed: the observer lets go of
		// all of it, once all is sent or the pass has failed.
		defer k.Reclaim(p.index, math.MaxInt64)
	}
	m := &maker{st: st, shard: p.index, ctx: ctx, cancel: cancel, q: make(chan *stageBatch, stageQueue), free: make(chan *stageBatch, stageQueue+2), wake: make(chan struct{}, 1)}
	p.src.Borrow(borrow)
	makeErr := make(chan error, 1)
	go func() {
		defer close(m.q)
		err := m.run(r, p, n)
		if err != nil {
			cancel()
		}
		makeErr <- err
	}()
	var err error
	for b := range m.q {
		if err == nil {
			err = st.sendBatch(p, b, &m.released, m.wake)
			// What was queued goes (a stop sends what it let through), and
			// nothing may point into the batch given back.
			if ferr := p.s.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				cancel() // the making stage stops; the queue drains
			}
		}
		b.reset()
		giveBack(m.free, b)
	}
	if merr := <-makeErr; err == nil && merr != nil {
		return merr
	}
	if err != nil {
		return err
	}
	return p.flush()
}

// sendBatch sends one batch from the making stage.
func (st *runState) sendBatch(p *pipeline, b *stageBatch, released *atomic.Int64, wake chan struct{}) error {
	for i := range b.msgs {
		m := &b.msgs[i]
		switch {
		case !m.begin.IsZero():
			p.sched.Begin(m.begin)
		case m.mark != 0:
			if err := p.s.Flush(); err != nil {
				return err
			}
			p.noteSent()
			if m.mark > released.Load() { // periodic and urgent marks interleave
				released.Store(m.mark)
			}
			select {
			case wake <- struct{}{}:
			default:
			}
		default:
			if err := st.send(p, &m.item, true); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *stageBatch) reset() {
	clear(b.msgs) // no reference into the ring stays behind
	clear(b.parts)
	b.msgs, b.parts, b.bytes = b.msgs[:0], b.parts[:0], b.bytes[:0]
}

// maker is the making stage.
type maker struct {
	st       *runState
	shard    int
	ctx      context.Context
	cancel   context.CancelFunc
	q, free  chan *stageBatch
	b        *stageBatch
	released atomic.Int64
	wake     chan struct{}
}

// hand passes the batch on, if it holds anything.
func (m *maker) hand() error {
	if m.b == nil || len(m.b.msgs) == 0 {
		return nil
	}
	if err := pass(m.ctx, m.q, m.b); err != nil {
		return err
	}
	m.b = nil
	return nil
}

// batch is the batch being filled, with room for an item of parts parts
// and a copy of bytes bytes.
func (m *maker) batch(parts, bytes int) (*stageBatch, error) {
	if b := m.b; b != nil && len(b.msgs) < cap(b.msgs) && len(b.parts)+parts <= cap(b.parts) && len(b.bytes)+bytes <= cap(b.bytes) {
		return b, nil
	}
	if err := m.hand(); err != nil {
		return nil, err
	}
	fresh := func() *stageBatch {
		return &stageBatch{msgs: make([]stageMsg, 0, stageItems), parts: make([][]byte, 0, max(stageParts, parts)), bytes: make([]byte, 0, max(stageBytes, bytes))}
	}
	if m.b = reuse(m.free, fresh); cap(m.b.parts) < parts || cap(m.b.bytes) < bytes {
		m.b = fresh() // an item larger than a batch holds
	}
	return m.b, nil
}

// item queues one item of the Source: its payload slices and any frame
// that is not the capture's own are copied into the batch, so that the
// Source may go on.
func (m *maker) item(it *item) error {
	copyFrame := !it.Stable
	n := 0
	if copyFrame {
		n = len(it.Frame)
	}
	b, err := m.batch(len(it.Parts), n)
	if err != nil {
		return err
	}
	c := *it
	if copyFrame {
		at := len(b.bytes)
		b.bytes = append(b.bytes, it.Frame...)
		c.Frame = b.bytes[at:len(b.bytes):len(b.bytes)]
		if it.Release != nil {
			it.Release(it.Frame) // back to the coalescer at once
		}
	}
	c.Release, c.Stable = nil, true // the batch's, until the sending stage gives it back
	if len(it.Parts) > 0 {
		at := len(b.parts)
		b.parts = append(b.parts, it.Parts...)
		c.Parts = b.parts[at:len(b.parts):len(b.parts)]
	}
	b.msgs = append(b.msgs, stageMsg{item: c})
	return nil
}

// send queues a message that is no item.
func (m *maker) send(msg stageMsg) error {
	b, err := m.batch(0, 0)
	if err != nil {
		return err
	}
	b.msgs = append(b.msgs, msg)
	return nil
}

// mark expires what began before offset and marks the queue there.
func (m *maker) mark(p *pipeline, offset int64) error {
	if err := p.src.Expire(offset); err != nil {
		return err
	}
	return m.send(stageMsg{mark: offset})
}

// readMsg is what the reading stage hands the making stage: a packet of
// the pipeline's (the record-th of the capture), a mark, or the start of
// the clock.
type readMsg struct {
	pkt    pcaps.Packet
	record int64
	mark   int64
	begin  bool
}

// readBatch is how many of them go at a time.
const readBatch = 256

// read is the reading stage: it reads the file into the ring and hands on
// the pipeline's packets, marking its queue every eighth of a ring with
// the offset half a ring behind; before the ring comes round it waits
// until the sending stage has let go of what it will overwrite.
func (m *maker) read(r *pcaps.Reader, p *pipeline, n int, q, free chan []readMsg) error {
	batch := make([]readMsg, 0, readBatch)
	hand := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := pass(m.ctx, q, batch); err != nil {
			return err
		}
		batch = reuse(free, func() []readMsg { return make([]readMsg, 0, readBatch) })
		return nil
	}
	add := func(msg readMsg) error {
		batch = append(batch, msg)
		if len(batch) >= readBatch {
			return hand()
		}
		return nil
	}
	ring := len(p.ring)
	every, half := int64(ring/8), int64(ring/2)
	next := every
	reclaim := func(before int64) error {
		if m.released.Load() < before {
			if err := m.sent(before, add, hand); err != nil {
				return err
			}
		}
		// The marks on the way, or the one just sent, went past before:
		// every frame read before it was shown to the observer.
		if k := p.src.keeper; k != nil {
			k.Reclaim(m.shard, before)
		}
		return nil
	}
	if !r.Window(p.ring, reclaim) {
		return fmt.Errorf("%s: the reader takes no ring", r.Name())
	}
	part := newPartFilter(m.st.o.Part)
	steer := newSteer(n)
	var pk pcaps.Packet
	for {
		err := r.Next(&pk)
		if err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		if r.Count() == 1 {
			if err := add(readMsg{pkt: pcaps.Packet{Timestamp: pk.Timestamp}, begin: true}); err != nil {
				return err
			}
		}
		if pk.Offset >= next && pk.Offset > half {
			if err := add(readMsg{mark: pk.Offset - half}); err != nil {
				return err
			}
			next = pk.Offset + every
		}
		if !part.keep(&pk, r.Count()) || steer.Shard(&pk) != p.index {
			continue
		}
		if err := add(readMsg{pkt: pk, record: r.Count()}); err != nil {
			return err
		}
	}
	if part != nil && p.index == 0 {
		m.st.part = part.report(m.st.o.Part)
	}
	return hand()
}

// sent marks the reading stage's queue at before and waits until the
// sending stage has sent everything read before it.
func (m *maker) sent(before int64, add func(readMsg) error, hand func() error) error {
	if err := add(readMsg{mark: before}); err != nil {
		return err
	}
	if err := hand(); err != nil {
		return err
	}
	for m.released.Load() < before {
		select {
		case <-m.wake:
		case <-m.ctx.Done():
			return errStop
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// run is the making stage's pass: the reading stage's packets classified
// and coalesced, marks passed on once what they release is expired.
func (m *maker) run(r *pcaps.Reader, p *pipeline, n int) error {
	q := make(chan []readMsg, stageQueue)
	free := make(chan []readMsg, stageQueue+2)
	readErr := make(chan error, 1)
	go func() {
		defer close(q)
		readErr <- m.read(r, p, n, q, free)
	}()
	p.src.Begin(r.Name(), isCoalesced(r), m.item)
	var cl coalesce.Classified
	classify := p.src.borrow // Ethernet frames, classified as the coalescer takes them
	err := func() error {
		for batch := range q {
			for i := range batch {
				msg := &batch[i]
				var err error
				switch {
				case msg.begin:
					err = m.send(stageMsg{begin: msg.pkt.Timestamp})
				case msg.mark != 0:
					if err = m.mark(p, msg.mark); err == nil {
						err = m.hand() // the reading stage may be waiting for it
					}
				case classify:
					cl.Classify(&msg.pkt)
					err = p.src.PacketClassified(&msg.pkt, msg.record, &cl)
				default:
					err = p.src.Packet(&msg.pkt, msg.record)
				}
				if err != nil {
					return err
				}
			}
			clear(batch)
			giveBack(free, batch[:0])
		}
		return nil
	}()
	if err != nil {
		m.cancel() // the reading stage stops
		for range q {
		}
		<-readErr
		return err
	}
	if err := <-readErr; err != nil {
		return err
	}
	if err := p.src.End(); err != nil {
		return err
	}
	return m.hand()
}

// pass hands a batch on to the next stage, unless the pass is stopping.
func pass[T any](ctx context.Context, q chan<- T, b T) error {
	select {
	case q <- b:
		return nil
	case <-ctx.Done():
		return errStop
	}
}

// reuse takes a batch the next stage gave back, or makes one.
func reuse[T any](free <-chan T, fresh func() T) T {
	select {
	case b := <-free:
		return b
	default:
		return fresh()
	}
}

// giveBack returns a batch for reuse; one more than the stages keep
// in flight is left to the collector.
func giveBack[T any](free chan<- T, b T) {
	select {
	case free <- b:
	default:
	}
}
