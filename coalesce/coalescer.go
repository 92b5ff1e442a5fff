package coalesce

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Order selects which packets may merge.
type Order int

const (
	// PerFlow merges consecutive packets of one flow even when other flows'
	// packets come in between, like GRO. Order within each flow is kept;
	// the records carry what is needed to restore the global order.
	PerFlow Order = iota
	// Strict merges only packets adjacent in the capture.
	Strict
)

func (o Order) String() string {
	if o == Strict {
		return "strict"
	}
	return "per-flow"
}

// Options limit the super-packets. DefaultOptions gives safe values.
type Options struct {
	// MaxBytes is the largest IP datagram (IP header, L4 header, payload) of
	// a super-packet. 65535 keeps the 16-bit length fields exact, as GRO does.
	MaxBytes int
	// MaxSegments is the most frames one super-packet carries (USO stops at
	// 128 whatever this says). Bursts above ~1000 segments overflow a
	// receiver's backlog.
	MaxSegments int
	// MaxSpan is the longest time between the first and the last segment, so
	// that a paced replay keeps the capture's timing; 0 means no limit.
	MaxSpan time.Duration
	// Order: PerFlow or Strict.
	Order Order
	// MaxHeld bounds, in PerFlow order, how many records may wait behind an
	// open super-packet, and MaxFlows how many super-packets are open at
	// once; they bound memory and the reordering a reader must undo.
	MaxHeld  int
	MaxFlows int
}

// DefaultOptions returns the defaults: 64 KiB of IP, 64 segments, 1 ms,
// per-flow order.
func DefaultOptions() Options {
	return Options{MaxBytes: 65535, MaxSegments: 64, MaxSpan: time.Millisecond, Order: PerFlow, MaxHeld: 1024, MaxFlows: 256}
}

const (
	maxUSOSegments = 128 // UDP_MAX_SEGMENTS
	minTCPGSOSize  = 8   // TCP_MIN_GSO_SIZE: 7.x clamps smaller gso_size
	smallBuf       = 2048
)

// Record is one output record: a packet passed through unchanged
// (Meta.Segs == 1, zero Vnet) or a super-packet. Packet.Data is valid only
// until the emit callback returns.
type Record struct {
	Packet pcaps.Packet
	Meta   Meta
}

// Stats counts what the coalescer did.
type Stats struct {
	Packets      int64 // packets in
	Bytes        int64 // bytes in
	Records      int64 // records out
	SuperPackets int64
	Merged       int64 // packets inside super-packets
	// Refused counts packets that could not be part of a super-packet.
	Refused [numReasons]int64
	// Flushes counts why each run of mergeable packets ended (a run of one is
	// passed through).
	Flushes [numReasons]int64
	// Segs is a histogram of segments per super-packet: bucket i holds
	// counts in (2^i, 2^(i+1)], i = 0..7 (2, 3-4, ..., 129-256).
	Segs [8]int64
	// GSO counts super-packets by gso_type (index GSOTCPv4, GSOUDP, GSOTCPv6,
	// GSOUDPL4).
	GSO [8]int64
}

// run is a candidate super-packet: the first packet copied into buf, later
// payloads appended.
type run struct {
	key     flowKey
	open    bool
	buf     []byte
	f       frame // offsets of the first packet's headers in buf
	pkt     pcaps.Packet
	n       int
	gso     int
	ipLen   int
	id0     uint16
	nextSeq uint32
	flags   uint8 // TCP flags of the first packet
	last    uint8 // TCP flags of the last packet
	lastTS  time.Time
	lastIdx int64
	deltas  []int64
	skips   []int32
	skipped bool
	// A train of IPv4 fragments (UFO): it becomes a super-packet only when
	// complete; until then its fragments are rebuilt from buf if it fails.
	frag     bool
	complete bool
	more     bool // the last fragment so far has MF
	nextOff  int  // offset the next fragment must have
}

// Coalescer merges a stream of packets into super-packets. Feed it with Push
// and end with Close; records come out through the emit callback in the
// order of their first packet.
type Coalescer struct {
	opts  Options
	emit  func(*Record) error
	flows map[flowKey]*run
	queue ring
	open  int
	free  []*run
	small [][]byte
	big   [][]byte
	index int64
	stats Stats
	rec   Record
	cls   classified
	train *run   // the open fragment train; it is always the newest record
	fbuf  []byte // a fragment of a failed train, rebuilt
}

// New returns a Coalescer; zero fields of opts take their defaults.
func New(opts Options, emit func(*Record) error) *Coalescer {
	d := DefaultOptions()
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = d.MaxBytes
	}
	if opts.MaxSegments <= 0 {
		opts.MaxSegments = d.MaxSegments
	}
	if opts.MaxHeld <= 0 {
		opts.MaxHeld = d.MaxHeld
	}
	if opts.MaxFlows <= 0 {
		opts.MaxFlows = d.MaxFlows
	}
	return &Coalescer{opts: opts, emit: emit, flows: make(map[flowKey]*run)}
}

// Stats returns the counters so far.
func (c *Coalescer) Stats() *Stats { return &c.stats }

// Push takes one packet. p.Data is copied; the caller may reuse it.
func (c *Coalescer) Push(p *pcaps.Packet) error {
	classify(p, &c.cls)
	return c.push(p, &c.cls)
}

// classified is what parse learns about a packet, computed apart from the
// coalescer's state so that Stream can do it on another core.
type classified struct {
	f       frame
	key     flowKey
	refusal Reason
	keyed   bool
}

func classify(p *pcaps.Packet, cl *classified) {
	cl.key = flowKey{iface: int32(p.Interface)}
	cl.refusal, cl.keyed = parse(&cl.f, p.Data, p.Length, p.LinkType, &cl.key)
	if cl.refusal == ReasonNone && p.Comment != "" {
		cl.refusal = ReasonComment
	}
}

func (c *Coalescer) push(p *pcaps.Packet, cl *classified) error {
	idx := c.index
	c.index++
	c.stats.Packets++
	c.stats.Bytes += int64(len(p.Data))

	// A run at the head that is past its span only holds back output.
	for c.opts.MaxSpan > 0 && c.queue.len() > 0 {
		h := c.queue.front()
		if !h.open || p.Timestamp.Sub(h.pkt.Timestamp) <= c.opts.MaxSpan {
			break
		}
		c.closeRun(h, ReasonMaxSpan)
		if err := c.drain(); err != nil {
			return err
		}
	}

	cl.f.data = p.Data
	refusal := cl.refusal
	var r *run
	if cl.keyed {
		r = c.flows[cl.key]
	}
	// A fragment train grows only with the packet right after it, so that a
	// failed train can give back its fragments in their places.
	if t := c.train; t != nil && t != r {
		c.closeRun(t, ReasonInterleaved)
	}
	if c.opts.Order == Strict {
		// Only the newest run may grow; anything else ends it.
		if b := c.queue.back(); b != nil && b.open && b != r {
			c.closeRun(b, ReasonInterleaved)
		}
	}
	if r != nil {
		if refusal != ReasonNone {
			c.closeRun(r, ReasonFlowPacket)
		} else if why, after := c.check(r, &cl.f, p); why == ReasonNone {
			c.appendTo(r, &cl.f, p, idx)
			if after == ReasonDatagram {
				after = c.completeTrain(r)
			}
			if after != ReasonNone {
				c.closeRun(r, after)
			}
			return c.drain()
		} else {
			c.closeRun(r, why)
		}
	}
	if refusal == ReasonNone && cl.f.frag == fragNext {
		refusal = ReasonFragment // no train to join
	}
	if refusal != ReasonNone {
		c.stats.Refused[refusal]++
		c.enqueue(c.passThrough(p))
	} else {
		c.start(&cl.f, &cl.key, p, idx)
	}
	return c.limit()
}

// Close ends every open run and emits what is left.
func (c *Coalescer) Close() error {
	for i := 0; i < c.queue.len(); i++ {
		if r := c.queue.at(i); r.open {
			c.closeRun(r, ReasonEnd)
		}
	}
	return c.drain()
}

func (c *Coalescer) limit() error {
	for c.queue.len() > c.opts.MaxHeld || c.open > c.opts.MaxFlows {
		for i := 0; i < c.queue.len(); i++ {
			if r := c.queue.at(i); r.open {
				c.closeRun(r, ReasonHeld)
				break
			}
		}
		if err := c.drain(); err != nil {
			return err
		}
	}
	return c.drain()
}

func (c *Coalescer) newRun(n int) *run {
	var r *run
	if k := len(c.free); k > 0 {
		r = c.free[k-1]
		c.free = c.free[:k-1]
	} else {
		r = &run{}
	}
	r.buf = c.getBuf(n)
	return r
}

func (c *Coalescer) bigCap() int { return c.opts.MaxBytes + 256 }

func (c *Coalescer) getBuf(n int) []byte {
	switch {
	case n <= smallBuf:
		if k := len(c.small); k > 0 {
			b := c.small[k-1]
			c.small = c.small[:k-1]
			return b[:0]
		}
		return make([]byte, 0, smallBuf)
	case n <= c.bigCap():
		if k := len(c.big); k > 0 {
			b := c.big[k-1]
			c.big = c.big[:k-1]
			return b[:0]
		}
		return make([]byte, 0, c.bigCap())
	}
	return make([]byte, 0, n)
}

func (c *Coalescer) putBuf(b []byte) {
	switch cap(b) {
	case smallBuf:
		c.small = append(c.small, b)
	case c.bigCap():
		c.big = append(c.big, b)
	}
}

func (c *Coalescer) passThrough(p *pcaps.Packet) *run {
	r := c.newRun(len(p.Data))
	r.buf = append(r.buf, p.Data...)
	r.pkt = *p
	r.pkt.Data = nil
	r.n = 1
	r.open = false
	return r
}

func (c *Coalescer) enqueue(r *run) { c.queue.push(r) }

// start opens a run with a mergeable packet, unless the packet alone already
// ends it.
func (c *Coalescer) start(f *frame, key *flowKey, p *pcaps.Packet, idx int64) {
	r := c.newRun(c.bigCap())
	r.buf = append(r.buf, p.Data...)
	r.f = *f
	r.f.data = nil
	r.pkt = *p
	r.pkt.Data = nil
	r.pkt.Comment = ""
	r.key = *key
	r.n = 1
	r.gso = f.payloadLen()
	r.ipLen = len(p.Data) - f.l3
	r.lastTS = p.Timestamp
	r.lastIdx = idx
	r.deltas = r.deltas[:0]
	r.skips = r.skips[:0]
	r.skipped = false
	ip := p.Data[f.l3:]
	if !f.v6 {
		r.id0 = binary.BigEndian.Uint16(ip[4:6])
	}
	r.frag = f.frag == fragFirst
	var end Reason
	if r.frag {
		end = c.startTrain(r, f, p.Data)
	} else if f.proto == protoTCP {
		th := p.Data[f.l4:]
		r.flags = th[13]
		r.last = th[13]
		r.nextSeq = binary.BigEndian.Uint32(th[4:8]) + uint32(r.gso)
		switch {
		case r.flags&(tcpPSH|tcpFIN) != 0:
			end = ReasonPSHFIN
		case r.gso < minTCPGSOSize:
			end = ReasonSmallGSO
		}
	}
	if end == ReasonNone && !r.frag {
		switch {
		case c.maxSegs(f) <= 1:
			end = ReasonMaxSegments
		case r.ipLen+r.gso > c.opts.MaxBytes:
			end = ReasonMaxBytes
		}
	}
	r.open = true
	c.open++
	c.flows[r.key] = r
	c.enqueue(r)
	if r.frag {
		c.train = r
	}
	if end != ReasonNone {
		c.closeRun(r, end)
	}
}

// startTrain sets up a run for the first fragment of a datagram: gso_size is
// the fragment's IP payload, UDP header included. It returns why the train
// cannot succeed if that is known already.
func (c *Coalescer) startTrain(r *run, f *frame, data []byte) Reason {
	r.gso = len(data) - f.l4
	r.nextOff = r.gso
	r.more = true
	r.complete = false
	ulen := int(binary.BigEndian.Uint16(data[f.l4+4:]))
	switch {
	case f.l4-f.l3+ulen > c.opts.MaxBytes:
		return ReasonMaxBytes
	case (ulen+r.gso-1)/r.gso > c.opts.MaxSegments:
		return ReasonMaxSegments
	}
	return ReasonNone
}

// completeTrain checks a train whose last fragment has come: the UDP length
// must be the datagram's and its checksum (which the kernel recomputes over
// the whole datagram) the one the capture holds.
func (c *Coalescer) completeTrain(r *run) Reason {
	ip, dgram := r.buf[r.f.l3:r.f.l4], r.buf[r.f.l4:]
	if int(binary.BigEndian.Uint16(dgram[4:6])) != len(dgram) ||
		binary.BigEndian.Uint16(dgram[6:8]) != l4Checksum(ip, false, protoUDP, dgram) {
		return ReasonDatagramCsum
	}
	r.complete = true
	return ReasonDatagram
}

func (c *Coalescer) maxSegs(f *frame) int {
	if f.proto == protoUDP && f.frag == fragNone {
		return min(c.opts.MaxSegments, maxUSOSegments)
	}
	return c.opts.MaxSegments
}

// check decides whether packet f may join run r, comparing every header byte
// that software GSO copies from the first segment (kernel-gso.md §2.9, §6).
// It returns the refusal, or ReasonNone and the reason the run must end
// right after this packet.
func (c *Coalescer) check(r *run, f *frame, p *pcaps.Packet) (why, after Reason) {
	if r.frag {
		return c.checkFragment(r, f, p)
	}
	a, b := r.buf, p.Data
	l3, l4 := r.f.l3, r.f.l4
	if f.l3 != l3 || !bytes.Equal(a[:l3], b[:l3]) {
		return ReasonL2Header, ReasonNone
	}
	if f.l4 != l4 {
		return ReasonIPOptions, ReasonNone
	}
	ia, ib := a[l3:l4], b[l3:l4]
	if !r.f.v6 {
		switch {
		case ia[1] != ib[1]:
			return ReasonTOS, ReasonNone
		case ia[6] != ib[6] || ia[7] != ib[7]:
			return ReasonDF, ReasonNone
		case ia[8] != ib[8]:
			return ReasonTTL, ReasonNone
		case !bytes.Equal(ia[20:], ib[20:]):
			return ReasonIPOptions, ReasonNone
		case binary.BigEndian.Uint16(ib[4:6]) != r.id0+uint16(r.n):
			return ReasonIPID, ReasonNone
		}
	} else {
		switch {
		case ia[0] != ib[0] || ia[1]&0xf0 != ib[1]&0xf0:
			return ReasonTOS, ReasonNone
		case ia[1] != ib[1] || ia[2] != ib[2] || ia[3] != ib[3]:
			return ReasonFlowLabel, ReasonNone
		case ia[7] != ib[7]:
			return ReasonTTL, ReasonNone
		case ia[6] != ib[6] || !bytes.Equal(ia[40:], ib[40:]):
			return ReasonIPOptions, ReasonNone
		}
	}
	pl := f.payloadLen()
	if r.f.proto == protoTCP {
		if f.hdrEnd != r.f.hdrEnd {
			return ReasonTCPOptions, ReasonNone
		}
		ta, tb := a[l4:r.f.hdrEnd], b[l4:f.hdrEnd]
		fb := tb[13]
		switch {
		case binary.BigEndian.Uint32(tb[4:8]) != r.nextSeq:
			return ReasonSeq, ReasonNone
		case !bytes.Equal(ta[8:12], tb[8:12]):
			return ReasonAck, ReasonNone
		case fb&tcpCWR != 0:
			return ReasonCWR, ReasonNone
		case fb&^(tcpPSH|tcpFIN) != r.flags&^(tcpCWR|tcpPSH|tcpFIN):
			return ReasonFlagsDiffer, ReasonNone
		case ta[12] != tb[12] || ta[18] != tb[18] || ta[19] != tb[19]:
			return ReasonTCPHeader, ReasonNone
		case ta[14] != tb[14] || ta[15] != tb[15]:
			return ReasonWindow, ReasonNone
		case !bytes.Equal(ta[20:], tb[20:]):
			return ReasonTCPOptions, ReasonNone
		}
		if fb&(tcpPSH|tcpFIN) != 0 {
			after = ReasonPSHFIN
		}
	}
	if pl > r.gso {
		return ReasonLarger, ReasonNone
	}
	if r.n >= c.maxSegs(f) {
		return ReasonMaxSegments, ReasonNone
	}
	if r.ipLen+pl > c.opts.MaxBytes {
		return ReasonMaxBytes, ReasonNone
	}
	if c.opts.MaxSpan > 0 && p.Timestamp.Sub(r.pkt.Timestamp) > c.opts.MaxSpan {
		return ReasonMaxSpan, ReasonNone
	}
	switch {
	case after != ReasonNone:
	case pl < r.gso:
		after = ReasonShort
	case r.n+1 >= c.maxSegs(f):
		after = ReasonMaxSegments
	case r.ipLen+pl+r.gso > c.opts.MaxBytes:
		after = ReasonMaxBytes
	}
	return ReasonNone, after
}

// checkFragment decides whether fragment f continues train r: the next
// offset, the headers UFO copies from the first fragment (link layer, TOS,
// TTL, options; ID, addresses and protocol are in the key), and gso_size
// bytes of IP payload on every fragment but the last. The last one ends the
// train.
func (c *Coalescer) checkFragment(r *run, f *frame, p *pcaps.Packet) (why, after Reason) {
	a, b := r.buf, p.Data
	l3, l4 := r.f.l3, r.f.l4
	switch {
	case f.frag != fragNext || f.fragOff != r.nextOff:
		return ReasonFragOrder, ReasonNone
	case f.l3 != l3 || !bytes.Equal(a[:l3], b[:l3]):
		return ReasonL2Header, ReasonNone
	case f.l4 != l4 || !bytes.Equal(a[l3+20:l4], b[l3+20:l4]):
		return ReasonIPOptions, ReasonNone
	case a[l3+1] != b[l3+1]:
		return ReasonTOS, ReasonNone
	case a[l3+8] != b[l3+8]:
		return ReasonTTL, ReasonNone
	}
	pl := len(b) - l4
	switch {
	case pl > r.gso || (f.more && pl != r.gso):
		return ReasonFragSize, ReasonNone
	case r.n >= c.opts.MaxSegments:
		return ReasonMaxSegments, ReasonNone
	case r.ipLen+pl > c.opts.MaxBytes:
		return ReasonMaxBytes, ReasonNone
	case c.opts.MaxSpan > 0 && p.Timestamp.Sub(r.pkt.Timestamp) > c.opts.MaxSpan:
		return ReasonMaxSpan, ReasonNone
	case !f.more:
		return ReasonNone, ReasonDatagram
	}
	return ReasonNone, ReasonNone
}

func (c *Coalescer) appendTo(r *run, f *frame, p *pcaps.Packet, idx int64) {
	pl := f.payload()
	if need := len(r.buf) + len(pl); need > cap(r.buf) {
		nb := c.getBuf(need)
		nb = append(nb, r.buf...)
		c.putBuf(r.buf)
		r.buf = nb
	}
	r.buf = append(r.buf, pl...)
	r.ipLen += len(pl)
	r.n++
	if r.f.proto == protoTCP {
		r.nextSeq += uint32(len(pl))
		r.last = p.Data[f.l4+13]
	}
	if r.frag {
		r.nextOff += len(pl)
		r.more = f.more
	}
	r.deltas = append(r.deltas, p.Timestamp.Sub(r.lastTS).Nanoseconds())
	skip := idx - r.lastIdx - 1
	r.skips = append(r.skips, int32(skip))
	if skip != 0 {
		r.skipped = true
	}
	r.lastTS = p.Timestamp
	r.lastIdx = idx
}

func (c *Coalescer) closeRun(r *run, why Reason) {
	if !r.open {
		return
	}
	r.open = false
	c.open--
	if c.flows[r.key] == r {
		delete(c.flows, r.key)
	}
	if c.train == r {
		c.train = nil
	}
	c.stats.Flushes[why]++
}

// drain emits the records at the head of the queue that are complete.
func (c *Coalescer) drain() error {
	for c.queue.len() > 0 {
		r := c.queue.front()
		if r.open {
			return nil
		}
		c.queue.pop()
		err := c.emitRun(r)
		c.putBuf(r.buf)
		r.buf = nil
		c.free = append(c.free, r)
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Coalescer) emitRun(r *run) error {
	rec := &c.rec
	rec.Packet = r.pkt
	rec.Packet.Data = r.buf
	rec.Meta = Meta{Segs: 1}
	switch {
	case r.frag && !r.complete && r.n > 1:
		return c.emitFragments(r)
	case r.n > 1:
		c.finish(r, rec)
	default:
		rec.Packet.Length = max(r.pkt.Length, len(r.buf))
	}
	c.stats.Records++
	return c.emit(rec)
}

// emitFragments gives back the fragments of a train that did not become a
// super-packet. Every fragment's header equals the first one's but for
// length, fragment field and checksum (checkFragment saw to it, and parse
// saw their checksums right), so rebuilding them is exact.
func (c *Coalescer) emitFragments(r *run) error {
	b, l3, l4 := r.buf, r.f.l3, r.f.l4
	dgram := b[l4:]
	ts := r.pkt.Timestamp
	for k := 0; k < r.n; k++ {
		chunk := dgram[k*r.gso : min((k+1)*r.gso, len(dgram))]
		c.fbuf = append(append(c.fbuf[:0], b[:l4]...), chunk...)
		ip := c.fbuf[l3:l4]
		fo := uint16(k * r.gso / 8)
		if k < r.n-1 || r.more {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[2:4], uint16(len(c.fbuf)-l3))
		binary.BigEndian.PutUint16(ip[6:8], fo)
		binary.BigEndian.PutUint16(ip[10:12], ipv4HeaderChecksum(ip))
		if k > 0 {
			ts = ts.Add(time.Duration(r.deltas[k-1]))
		}
		rec := &c.rec
		rec.Packet = r.pkt
		rec.Packet.Data, rec.Packet.Length, rec.Packet.Timestamp = c.fbuf, len(c.fbuf), ts
		rec.Meta = Meta{Segs: 1}
		c.stats.Records++
		if err := c.emit(rec); err != nil {
			return err
		}
	}
	return nil
}

// finish turns the run's buffer into the frame the kernel would receive from
// AF_PACKET: first segment's headers, lengths of the whole, the flags of the
// first and the last segment, the L4 checksum seeded with the pseudo-header
// sum for NEEDS_CSUM, and the virtio header that asks for the segmentation.
func (c *Coalescer) finish(r *run, rec *Record) {
	b := r.buf
	ip := b[r.f.l3:r.f.l4]
	l4 := b[r.f.l4:]
	if !r.f.v6 {
		if r.frag {
			ip[6], ip[7] = 0, 0 // the whole datagram; UFO writes offset and MF
		}
		binary.BigEndian.PutUint16(ip[2:4], uint16(lenOrZero(r.ipLen)))
		binary.BigEndian.PutUint16(ip[10:12], ipv4HeaderChecksum(ip))
	} else {
		binary.BigEndian.PutUint16(ip[4:6], uint16(lenOrZero(len(b)-r.f.l3-40)))
	}
	h := VnetHeader{Flags: VnetNeedsCsum, GSOSize: uint16(r.gso), HdrLen: uint16(r.f.hdrEnd), CsumStart: uint16(r.f.l4)}
	if r.f.proto == protoTCP {
		h.GSOType = GSOTCPv4
		if r.f.v6 {
			h.GSOType = GSOTCPv6
		}
		if r.flags&tcpCWR != 0 {
			h.GSOType |= GSOECN // what GRO reports for a CWR-first aggregate
		}
		h.CsumOffset = 16
		l4[13] = r.flags&^(tcpPSH|tcpFIN) | r.last&(tcpPSH|tcpFIN)
		binary.BigEndian.PutUint16(l4[16:18], fold(pseudoSum(ip, r.f.v6, protoTCP, uint32(len(l4)))))
	} else if r.frag {
		// The UDP checksum stays the whole datagram's: the kernel recomputes
		// it over the datagram anyway (udp4_ufo_fragment).
		h.GSOType = GSOUDP
		h.CsumOffset = 6
	} else {
		h.GSOType = GSOUDPL4
		h.CsumOffset = 6
		// The seed must use the very 16-bit value stored in uh->len
		// (kernel-gso.md §2.6), truncated above 64 KiB.
		ulen := uint16(len(l4))
		binary.BigEndian.PutUint16(l4[4:6], ulen)
		binary.BigEndian.PutUint16(l4[6:8], fold(pseudoSum(ip, r.f.v6, protoUDP, uint32(ulen))))
	}
	rec.Meta.Vnet = h
	rec.Meta.Segs = r.n
	rec.Meta.Deltas = r.deltas
	if r.skipped {
		rec.Meta.Skips = r.skips
	}
	rec.Packet.Length = len(b)
	rec.Packet.Comment = ""
	c.stats.SuperPackets++
	c.stats.Merged += int64(r.n)
	c.stats.GSO[h.GSOType&7]++
	for i := range c.stats.Segs {
		if r.n <= 2<<i || i == len(c.stats.Segs)-1 {
			c.stats.Segs[i]++
			break
		}
	}
}

func lenOrZero(n int) int {
	if n > 0xffff {
		return 0
	}
	return n
}

// ring is a FIFO of runs that reuses its storage.
type ring struct {
	buf        []*run
	head, size int
}

func (q *ring) len() int      { return q.size }
func (q *ring) front() *run   { return q.buf[q.head] }
func (q *ring) at(i int) *run { return q.buf[(q.head+i)&(len(q.buf)-1)] }

func (q *ring) back() *run {
	if q.size == 0 {
		return nil
	}
	return q.at(q.size - 1)
}

func (q *ring) push(r *run) {
	if q.size == len(q.buf) {
		nb := make([]*run, max(16, 2*len(q.buf)))
		for i := 0; i < q.size; i++ {
			nb[i] = q.at(i)
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)&(len(q.buf)-1)] = r
	q.size++
}

func (q *ring) pop() {
	q.buf[q.head] = nil
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.size--
}
