package verify

import (
	"context"
	"hash/maphash"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/compare"
	"github.com/gsoreplay/gsoreplay/replay/internal/pcapout"
	"github.com/gsoreplay/gsoreplay/replay/split"
)

// stall is how long the capture may take nothing while the sender waits
// for it: after it, the sender waits no more for the frames in flight
// (lost ones end up missing, and a counter tells where they went).
const stall = 200 * time.Millisecond

// check compares what the testbed captures with what must come out while
// both arrive: the sender's observer hands it each expected frame before
// the frame leaves (expect, or lend), the capture rings each frame as it
// comes (got), and a match lets both go. What it holds is the frames in
// flight and those that matched nothing (kept for the report: in a run
// that loses or changes frames, memory grows with them).
//
// An expected frame is a copy (expect) unless the replay lends it where it
// lies, in the streaming replay's ring (lend): most frames of a pcap are
// compared there, never copied. Before the replay overwrites a part of its
// ring it calls reclaim, which waits for the capture to catch up with the
// frames lent from there and copies only those that did not match (lost
// or changed): so the replay runs no further ahead of the comparison than
// its ring. Copies are bounded the other way: the sender waits while they
// take more than budget bytes. Either way the capture ring, larger than
// both, does not overflow because the comparison fell behind, and memory
// stays bounded whatever the capture's size.
type check struct {
	ctx    context.Context
	budget int64

	mu    sync.Mutex
	sides [2]*compare.Matcher // by pair: [1] with a second interface
	held  int64               // memory of the expected frames not matched yet
	gave  int64               // of which the sender waits for no more
	last  time.Time           // when the capture last brought something
	free  [][]byte            // buffers of matched frames, for the next expected ones
	n     int                 // expected frames so far
	lent  []lentQueue         // by shard: the frames lent, in their order
	// corrupt, for tests, changes an expected frame (its position among
	// all) before it is compared.
	corrupt func(pos int, e *compare.Expected)
	// With two interfaces: what restores each connection's order across
	// both (crossOrder).
	cross *crossRecorder
	// keep, with Options.Keep, writes what is captured; keep2 holds the
	// second interface's frames until the end, where they follow.
	keep, keep2 *pcapout.File
	keepPath    string
	keepTime    time.Time
	keepErr     error
}

func newCheck(ctx context.Context, strict, two bool, budget int64, corrupt func(int, *compare.Expected)) *check {
	c := &check{ctx: ctx, budget: budget, corrupt: corrupt, last: time.Now()}
	c.sides[0] = compare.NewMatcher(strict)
	if two {
		c.sides[1] = compare.NewMatcher(strict)
		c.cross = newCrossRecorder()
	}
	for _, m := range c.sides {
		if m != nil {
			m.Free = c.matched
		}
	}
	return c
}

// matched takes back an expected frame that matched: a copy's buffer for
// the next one, a lent frame's place in its queue marked done.
func (c *check) matched(e compare.Expected) {
	if e.Tag != 0 {
		c.lent[e.Tag>>tagShard].at(e.Tag&(1<<tagShard-1) - 1).done = true
		return
	}
	c.free = append(c.free, e.Data)
	c.held -= held(e.Data)
}

// tagShard is where a lent frame's tag (compare.Expected.Tag) holds its
// shard; below it, its place in the shard's queue, plus 1 (0 is a copy).
const tagShard = 40

// held is the memory an expected frame in flight takes: its buffer and
// the Matcher's entry.
func held(buf []byte) int64 { return int64(cap(buf)) + 64 }

// keepCaptured writes what is captured into dir as NAME.captured.pcapng.
func (c *check) keepCaptured(dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	c.keepPath, c.keepTime = filepath.Join(dir, base+".captured.pcapng"), time.Now()
	var err error
	if c.keep, err = pcapout.Create(c.keepPath, pcaps.WriterOptions{Application: "gsoreplay verify"}, []string{"verify"}); err != nil {
		return err
	}
	if c.cross != nil {
		c.keep2, err = pcapout.Create(c.keepPath+".second", pcaps.WriterOptions{}, []string{"verify"})
	}
	return err
}

// expect adds a frame that must come out by side (a copy of data),
// waiting first while too much is in flight. Pipelines call it at once.
func (c *check) expect(side split.Side, data []byte, normalized string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.held-c.gave > c.budget && c.ctx.Err() == nil {
		if time.Since(c.last) > stall {
			// Nothing came for a while: what is in flight is not coming
			// (or not sent yet); wait no more for it.
			c.gave = c.held
			break
		}
		c.mu.Unlock()
		time.Sleep(50 * time.Microsecond)
		c.mu.Lock()
	}
	c.add(side, compare.Expected{Data: c.copied(data), Normalized: normalized})
}

// copied is a copy of data, in a buffer of a frame that matched if one is
// large enough, counted as held.
func (c *check) copied(data []byte) []byte {
	var buf []byte
	if n := len(c.free); n > 0 && cap(c.free[n-1]) >= len(data) {
		buf, c.free = c.free[n-1][:len(data)], c.free[:n-1]
	} else {
		buf = make([]byte, len(data), max(len(data), 2048))
	}
	copy(buf, data)
	c.held += held(buf)
	return buf
}

// add hands the comparison an expected frame; it returns the frame's
// position among its side's.
func (c *check) add(side split.Side, e compare.Expected) int {
	if c.corrupt != nil {
		c.corrupt(c.n, &e)
	}
	c.n++
	if c.cross != nil {
		c.cross.expect(e.Data)
	}
	m := c.sides[side&1]
	pos, _ := m.Counts()
	m.Expect(e)
	return pos
}

// lend adds a frame that must come out by side as it lies in shard's ring
// (at offset off of the file), kept there until reclaim takes it back.
func (c *check) lend(shard int, side split.Side, data []byte, off int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.lent) <= shard {
		c.lent = append(c.lent, lentQueue{})
	}
	if c.corrupt != nil {
		// A test's hook may change it: a copy.
		c.add(side, compare.Expected{Data: c.copied(data)})
		return
	}
	q := &c.lent[shard]
	seq := q.push(lentFrame{data: data, off: off, side: side})
	q.at(seq).pos = c.add(side, compare.Expected{Data: data, Tag: uint64(shard)<<tagShard | (seq + 1)})
}

// reclaim gives shard's ring back before the replay overwrites it below
// before: for each frame lent from there it waits, while the capture
// still brings frames, until the frame or one expected after it matched;
// a lent frame that has not matched by then is copied where the Matcher
// keeps it (it is lost, changed or late). Lost frames cost no wait: the
// frames after them match.
func (c *check) reclaim(shard int, before int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if shard >= len(c.lent) {
		return
	}
	q := &c.lent[shard]
	for f := q.head(); f != nil && f.off < before; f = q.head() {
		for !f.done && c.ctx.Err() == nil && time.Since(c.last) <= stall {
			if c.sides[f.side&1].Latest() > f.pos {
				break
			}
			c.mu.Unlock()
			time.Sleep(50 * time.Microsecond)
			c.mu.Lock()
			f = q.head() // the queue may have grown meanwhile
		}
		if !f.done {
			c.sides[f.side&1].Own(f.data, f.pos, c.copied)
		}
		q.pop()
	}
}

// lentFrame is a frame lent by the replay's ring: where it lies, its
// file offset, its side and position there, and whether it matched.
type lentFrame struct {
	data []byte
	off  int64
	side split.Side
	pos  int
	done bool
}

// lentQueue is a shard's lent frames in the order lent, each known by its
// sequence number.
type lentQueue struct {
	q     []lentFrame
	head0 int    // q[head0] is the oldest
	base  uint64 // the sequence number of q[0]
}

func (q *lentQueue) push(f lentFrame) uint64 {
	q.q = append(q.q, f)
	return q.base + uint64(len(q.q)-1)
}

func (q *lentQueue) at(seq uint64) *lentFrame { return &q.q[seq-q.base] }

// head is the oldest frame, nil for none.
func (q *lentQueue) head() *lentFrame {
	if q.head0 == len(q.q) {
		return nil
	}
	return &q.q[q.head0]
}

func (q *lentQueue) pop() {
	q.q[q.head0] = lentFrame{} // no reference into the ring stays behind
	q.head0++
	if q.head0 == len(q.q) || q.head0 >= 4096 && q.head0*2 >= len(q.q) {
		n := copy(q.q, q.q[q.head0:])
		clear(q.q[n:])
		q.q, q.base, q.head0 = q.q[:n], q.base+uint64(q.head0), 0
	}
}

// got compares a frame captured on pair's ring.
func (c *check) got(pair int, frame []byte, at time.Time, _ gso.VnetHeader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = time.Now()
	c.sides[pair&1].Got(frame)
	if c.cross != nil {
		c.cross.got(pair, frame, at)
	}
	if c.keep != nil && c.keepErr == nil {
		f := c.keep
		if pair == 1 {
			f = c.keep2
		}
		c.keepErr = f.Write(pcapout.Frame{Data: frame, Time: c.keepTime})
	}
}

// counts are the frames expected and captured so far.
func (c *check) counts() (expected, captured int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.sides {
		if m != nil {
			_, g := m.Counts()
			captured += g
		}
	}
	return c.n, captured
}

// result classifies it all, once the capture has stopped: each side
// against its own expectation, and with two interfaces their order
// across both.
func (c *check) result() (res compare.Result, crossReordered int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res = c.sides[0].Result()
	if c.sides[1] != nil {
		res.Add(c.sides[1].Result(), "second interface: ")
		crossReordered = c.cross.reordered()
	}
	return res, crossReordered, c.finishKeep()
}

// finishKeep closes the captured file, the second interface's frames
// after the first's.
func (c *check) finishKeep() error {
	if c.keep == nil {
		return nil
	}
	err := c.keepErr
	if c.keep2 != nil {
		if cerr := c.keep2.Close(); err == nil {
			err = cerr
		}
		second := c.keepPath + ".second"
		if err == nil {
			err = appendFrames(c.keep, second, c.keepTime)
		}
		os.Remove(second)
	}
	if cerr := c.keep.Close(); err == nil {
		err = cerr
	}
	return err
}

// appendFrames writes the frames of the file path to f.
func appendFrames(f *pcapout.File, path string, ts time.Time) error {
	r, err := pcaps.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Each(func(p *pcaps.Packet) error { return f.Write(pcapout.Frame{Data: p.Data, Time: ts}) })
}

// crossRecorder keeps what crossOrder needs of every frame of a
// two-interface run, small: for each frame captured its kernel time, ring
// and connection and a hash of its bytes; for each connection the hashes
// of its expected frames in order.
type crossRecorder struct {
	seed maphash.Seed
	want map[uint64][]uint64
	seen []seenFrame
}

type seenFrame struct {
	at   time.Time
	pair int
	conn uint64
	hash uint64
}

func newCrossRecorder() *crossRecorder {
	return &crossRecorder{seed: maphash.MakeSeed(), want: map[uint64][]uint64{}}
}

func (r *crossRecorder) expect(f []byte) {
	if k := connOf(f); k != 0 {
		r.want[k] = append(r.want[k], maphash.Bytes(r.seed, f))
	}
}

func (r *crossRecorder) got(pair int, f []byte, at time.Time) {
	if k := connOf(f); k != 0 {
		r.seen = append(r.seen, seenFrame{at, pair, k, maphash.Bytes(r.seed, f)})
	}
}

// reordered counts the frames that, the two rings' captures merged by
// their kernel timestamps (the first ring's first at equal times), stand
// elsewhere within their connection than its expected frames do (both
// directions of a connection being one sequence, as the two sides of a
// split are).
func (r *crossRecorder) reordered() int {
	slices.SortStableFunc(r.seen, func(a, b seenFrame) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.pair - b.pair
	})
	pos := map[uint64]int{}
	bad := 0
	for _, s := range r.seen {
		w, i := r.want[s.conn], pos[s.conn]
		pos[s.conn]++
		if i < len(w) && w[i] != s.hash {
			bad++
		}
	}
	return bad
}

// connOf is a frame's connection, both directions as one; 0 for none.
func connOf(f []byte) uint64 {
	if k := flowOf(f); k != (coalesce.Flow{}) {
		return k.Symmetric()
	}
	return 0
}
