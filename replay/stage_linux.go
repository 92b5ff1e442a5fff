package replay

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// stageBatch is how many packets the reading stage hands on at a time.
const stageBatch = 256

// stageQueue is how many batches may wait: a few MiB of bulk TCP, well
// under half a ring.
const stageQueue = 8

// stageMsg is one packet (the record-th of the capture) with what the
// reading stage learnt of it, or a mark: let go of the ring before expire.
type stageMsg struct {
	pkt    pcaps.Packet
	cl     coalesce.Classified
	record int64
	expire int64 // a mark when not 0
	begin  bool  // the capture's first packet: the clock starts at its time
	sorted bool  // cl holds the packet's classification
}

// staged runs one pipeline's pass over a pcap in two stages on two
// goroutines: the reading stage reads the file into the pipeline's ring,
// keeps the packets its Steer gives the pipeline and classifies them
// (parsing, checksums: coalesce.Classified), and the sending stage
// coalesces what it is handed, borrowing the packets in place, and sends.
// Both stages of a pipeline run at once, on two cores where there are.
// The ring comes round only once the sending stage has let go of what it
// will overwrite: the reading stage marks its queue, every eighth of a
// ring, with the offset half a ring behind, and the sending stage, meeting
// a mark, expires its runs before it, flushes its sender and says so; the
// reading stage waits for that before overwriting, so it is never more
// than half a ring ahead.
func (st *runState) staged(p *pipeline, r *pcaps.Reader, n int, borrow bool) error {
	ctx, cancel := context.WithCancel(st.ctx)
	defer cancel()
	q := make(chan []stageMsg, stageQueue)
	free := make(chan []stageMsg, stageQueue+2)
	var released atomic.Int64
	wake := make(chan struct{}, 1)
	p.src.Borrow(borrow)
	readErr := make(chan error, 1)
	go func() {
		defer close(q)
		err := stageRead(ctx, r, p, n, borrow, q, free, &released, wake)
		if err != nil {
			cancel()
		}
		readErr <- err
	}()
	send := func(it *Item) error { return st.send(p, it, false) }
	p.src.Begin(r.Name(), IsCoalesced(r), send)
	var err error
	for batch := range q {
		if err == nil {
			if err = p.stageIn(batch, &released, wake); err != nil {
				cancel() // the reading stage stops; the queue drains
			}
		}
		clear(batch) // no reference into the ring stays behind
		select {
		case free <- batch[:0]:
		default:
		}
	}
	if rerr := <-readErr; err == nil && rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	if err := p.src.End(); err != nil {
		return err
	}
	return p.flush()
}

// stageIn sends one batch from the reading stage.
func (p *pipeline) stageIn(batch []stageMsg, released *atomic.Int64, wake chan struct{}) error {
	for i := range batch {
		m := &batch[i]
		if m.begin {
			p.sched.Begin(m.pkt.Timestamp)
		}
		if m.expire == 0 {
			if m.record == 0 {
				continue // only the start of the clock
			}
			var err error
			if m.sorted {
				err = p.src.PacketClassified(&m.pkt, m.record, &m.cl)
			} else {
				err = p.src.Packet(&m.pkt, m.record)
			}
			if err != nil {
				return err
			}
			continue
		}
		if err := p.src.Expire(m.expire); err != nil {
			return err
		}
		if err := p.s.Flush(); err != nil {
			return err
		}
		p.sent.Store(p.s.Stats.Frames)
		if m.expire > released.Load() { // periodic and urgent marks interleave
			released.Store(m.expire)
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// stageRead is the reading stage.
func stageRead(ctx context.Context, r *pcaps.Reader, p *pipeline, n int, borrow bool, q, free chan []stageMsg, released *atomic.Int64, wake chan struct{}) error {
	batch := make([]stageMsg, 0, stageBatch)
	hand := func() error {
		if len(batch) == 0 {
			return nil
		}
		select {
		case q <- batch:
		case <-ctx.Done():
			return errStop
		}
		select {
		case batch = <-free:
		default:
			batch = make([]stageMsg, 0, stageBatch)
		}
		return nil
	}
	add := func(m stageMsg) error {
		batch = append(batch, m)
		if len(batch) >= stageBatch {
			return hand()
		}
		return nil
	}
	ring := len(p.ring)
	mark, half := int64(ring/8), int64(ring/2)
	next := mark
	reclaim := func(before int64) error {
		if released.Load() >= before {
			return nil // the marks on the way did it
		}
		if err := add(stageMsg{expire: before}); err != nil {
			return err
		}
		if err := hand(); err != nil {
			return err
		}
		for released.Load() < before {
			select {
			case <-wake:
			case <-ctx.Done():
				return errStop
			case <-time.After(time.Millisecond):
			}
		}
		return nil
	}
	if !r.Window(p.ring, reclaim) {
		return fmt.Errorf("%s: the reader takes no ring", r.Name())
	}
	steer := NewSteer(n)
	var pk pcaps.Packet
	for {
		err := r.Next(&pk)
		if err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		if r.Count() == 1 {
			if err := add(stageMsg{pkt: pcaps.Packet{Timestamp: pk.Timestamp}, begin: true}); err != nil {
				return err
			}
		}
		if pk.Offset >= next && pk.Offset > half {
			if err := add(stageMsg{expire: pk.Offset - half}); err != nil {
				return err
			}
			next = pk.Offset + mark
		}
		if steer.Shard(&pk) != p.index {
			continue
		}
		batch = append(batch, stageMsg{pkt: pk, record: r.Count(), sorted: borrow})
		if borrow { // an Ethernet frame, as the coalescer will take it
			m := &batch[len(batch)-1]
			m.cl.Classify(&m.pkt)
		}
		if len(batch) >= stageBatch {
			if err := hand(); err != nil {
				return err
			}
		}
	}
	return hand()
}
