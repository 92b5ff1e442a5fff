package coalesce

import (
	"bytes"
	"slices"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// smallBuf is the size of the buffers of packets passed through; runs get
// MaxBytes+256.
const smallBuf = 2048

// Record is one output record: a packet passed through unchanged
// (Meta.Segs == 1, zero Vnet) or a super-packet. Packet.Data is valid only
// until the emit callback returns.
type Record struct {
	Packet pcaps.Packet
	Meta   Meta
	// Parts, in borrow mode (Coalescer.Borrow), is the rest of a
	// super-packet after Packet.Data, which then holds only its rebuilt
	// headers: the payloads as slices of the pushed packets.
	Parts [][]byte
	// Borrowed says Packet.Data is a pushed packet's own bytes (borrow
	// mode): valid as long as the caller keeps that packet, not only until
	// the callback returns.
	Borrowed bool
}

// run is a candidate super-packet: the first packet copied into buf, later
// payloads appended.
type run struct {
	key     Flow
	open    bool
	buf     []byte
	f       frame // offsets of the first packet's headers in buf
	fview   frame // f over buf, for view
	pkt     pcaps.Packet
	n       int
	gso     int
	ipLen   int
	id0     uint16
	oid0    uint16 // a tunnel packet's outer IPv4 ID
	nextSeq uint32
	flags   header.TCPFlags // TCP flags of the first packet
	last    header.TCPFlags // TCP flags of the last packet
	lastTS  time.Time
	lastIdx int64
	deltas  []int64
	skips   []int32
	skipped bool
	// Borrow mode: buf holds the first packet's headers only; parts are
	// the payloads in place, and wholes the packets themselves (the first
	// only, or every fragment of a train).
	parts  [][]byte
	wholes [][]byte
	// whole: buf holds the pushed packet's bytes, Block and all, and pkt
	// points into it (a packet or block passed through in copy mode).
	whole bool
	opts  []byte // the first packet's pcapng options (Packet.Options)
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
	flows map[Flow]*run
	queue ring
	open  int
	free  []*run
	small [][]byte
	big   [][]byte
	index int64
	stats Stats
	rec   Record
	cls   Classified
	train *run   // the open fragment train; it is always the newest record
	fbuf  []byte // a fragment of a failed train, rebuilt
	// The record being emitted may be kept by the callback (Retain).
	retainable, retained bool
	borrow               bool   // see Borrow
	scratch              []byte // a train's datagram, gathered (borrow mode)
}

// New returns a Coalescer. Zero limits take DefaultOptions' values, except
// MaxSpan, whose zero means no limit; Options.Validate checks the ranges.
func New(opts Options, emit func(*Record) error) *Coalescer {
	return &Coalescer{opts: opts.withDefaults(), emit: emit, flows: make(map[Flow]*run)}
}

// Retain, called from the emit callback, keeps the record's Packet.Data for
// the caller: the coalescer will not reuse that buffer until Release hands
// it back, so that a sender can pass it to the kernel without copying it.
// It reports false for a record whose buffer cannot be kept (the fragments
// of a failed train share one); that data is valid until the callback
// returns, as always.
func (c *Coalescer) Retain() bool {
	if !c.retainable {
		return false
	}
	c.retained = true
	return true
}

// Release gives back a buffer that Retain kept.
func (c *Coalescer) Release(b []byte) { c.putBuf(b[:0]) }

// Stats returns the counters so far.
func (c *Coalescer) Stats() *Stats { return &c.stats }

// Push takes one packet. p.Data is copied; the caller may reuse it.
func (c *Coalescer) Push(p *pcaps.Packet) error {
	c.cls.Classify(p)
	return c.PushClassified(p, &c.cls)
}

// PushClassified is Push for a packet that cl classified, with p.Data
// unchanged since.
func (c *Coalescer) PushClassified(p *pcaps.Packet, cl *Classified) error {
	idx := c.index
	c.index++
	if p.IsBlock() {
		return c.pushBlock(p)
	}
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

	cl.f.data, cl.t.data = p.Data, p.Data
	f, key, refusal, keyed := cl.view(c.opts.TunnelGSO, p)
	var r *run
	if keyed {
		r = c.flows[*key]
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
		} else if why, after := c.check(r, f, p); why == ReasonNone {
			c.appendTo(r, f, p, idx)
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
	if refusal == ReasonNone && f.frag == fragNext {
		refusal = ReasonFragment // no train to join
	}
	if refusal != ReasonNone {
		c.stats.Refused[refusal]++
		c.enqueue(c.passThrough(p))
	} else {
		c.start(f, key, p, idx)
	}
	return c.limit()
}

// pushBlock passes a pcapng block that holds no packet through in its
// place. It is one more record between packets: it ends a strict run or a
// fragment train as any other packet would.
func (c *Coalescer) pushBlock(p *pcaps.Packet) error {
	c.stats.Blocks++
	if t := c.train; t != nil {
		c.closeRun(t, ReasonInterleaved)
	}
	if b := c.queue.back(); c.opts.Order == Strict && b != nil && b.open {
		c.closeRun(b, ReasonInterleaved)
	}
	c.enqueue(c.passThrough(p))
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
	r.buf = nil
	if n > 0 {
		r.buf = c.getBuf(n)
	}
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
	var r *run
	if c.borrow {
		r = c.newRun(0)
		r.wholes = append(r.wholes[:0], p.Data)
		r.pkt = *p
		r.pkt.Data = nil
	} else {
		r = c.newRun(p.Size())
		r.buf = r.buf[:p.Size()]
		r.pkt = *p
		r.pkt.CopyInto(r.buf)
		r.whole = true
	}
	r.n = 1
	r.open = false
	return r
}

func (c *Coalescer) enqueue(r *run) { c.queue.push(r) }

// start opens a run with a mergeable packet, unless the packet alone already
// ends it.
func (c *Coalescer) start(f *frame, key *Flow, p *pcaps.Packet, idx int64) {
	var r *run
	if c.borrow {
		r = c.newRun(f.hdrEnd)
		r.buf = append(r.buf, p.Data[:f.hdrEnd]...)
		r.parts = append(r.parts[:0], p.Data[f.hdrEnd:])
		r.wholes = append(r.wholes[:0], p.Data)
	} else {
		r = c.newRun(c.bigCap())
		r.buf = append(r.buf, p.Data...)
	}
	r.f = *f
	r.f.data = nil
	r.pkt = *p
	r.pkt.Data, r.pkt.Block = nil, nil
	r.opts = append(r.opts[:0], p.Options...)
	if p.Options != nil {
		r.pkt.Options = r.opts
	}
	r.whole = false
	r.key = *key
	r.n = 1
	r.gso = f.payloadLen()
	r.ipLen = len(p.Data) - f.top()
	r.lastTS = p.Timestamp
	r.lastIdx = idx
	r.deltas = r.deltas[:0]
	r.skips = r.skips[:0]
	r.skipped = false
	f.data = p.Data
	if !f.v6 {
		r.id0 = f.ipv4().ID()
	}
	if f.tunnel && !f.ov6 {
		r.oid0 = f.outer4().ID()
	}
	r.frag = f.frag == fragFirst
	var end Reason
	if r.frag {
		end = c.startTrain(r, f)
	} else if f.proto == header.ProtoTCP {
		th := f.tcp()
		r.flags = th.Flags()
		r.last = r.flags
		r.nextSeq = th.SequenceNumber() + uint32(r.gso)
		switch {
		case r.flags&(header.TCPFlagPSH|header.TCPFlagFIN) != 0:
			end = ReasonPSHFIN
		case r.gso < gso.MinTCPSize:
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
func (c *Coalescer) startTrain(r *run, f *frame) Reason {
	r.gso = len(f.data) - f.l4
	r.nextOff = r.gso
	r.more = true
	r.complete = false
	ulen := int(f.udp().Length())
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
	f := r.view()
	if c.borrow {
		c.scratch = r.gather(c.scratch[:0])
		f.data = c.scratch
	}
	dgram := f.udp()
	if int(dgram.Length()) != len(dgram) ||
		dgram.Checksum() != header.TransportChecksum(f.ipv4().Addresses(), header.ProtoUDP, dgram) {
		return ReasonDatagramCsum
	}
	r.complete = true
	return ReasonDatagram
}

func (c *Coalescer) maxSegs(f *frame) int {
	if f.proto == header.ProtoUDP && f.frag == fragNone {
		return min(c.opts.MaxSegments, gso.MaxUSOSegments)
	}
	return c.opts.MaxSegments
}

// check decides whether packet f may join run r, comparing every header byte
// that software GSO copies from the first segment (docs/kernel.md §2.9,
// docs/merge-rules.md). It returns the refusal, or ReasonNone and the reason
// the run must end right after this packet.
func (c *Coalescer) check(r *run, f *frame, p *pcaps.Packet) (why, after Reason) {
	if !bytes.Equal(r.pkt.Options, p.Options) {
		return ReasonPacketOpts, ReasonNone
	}
	if r.frag {
		return c.checkFragment(r, f, p)
	}
	first := r.view()
	if f.tunnel {
		if why := c.checkOuter(r, first, f); why != ReasonNone {
			return why, ReasonNone
		}
	} else if f.l3 != first.l3 || !bytes.Equal(first.data[:f.l3], f.data[:f.l3]) {
		return ReasonL2Header, ReasonNone
	}
	if f.l4 != first.l4 {
		return ReasonIPOptions, ReasonNone
	}
	if !f.v6 {
		ia, ib := first.ipv4(), f.ipv4()
		switch {
		case ia.TOS() != ib.TOS():
			return ReasonTOS, ReasonNone
		case ia.FlagsFragment() != ib.FlagsFragment():
			return ReasonDF, ReasonNone
		case ia.TTL() != ib.TTL():
			return ReasonTTL, ReasonNone
		case !bytes.Equal(ia.Options(), ib.Options()):
			return ReasonIPOptions, ReasonNone
		case ib.ID() != r.id0+uint16(r.n):
			return ReasonIPID, ReasonNone
		}
	} else {
		ia, ib := first.ipv6(), f.ipv6()
		switch {
		case ia.TrafficClass() != ib.TrafficClass():
			return ReasonTOS, ReasonNone
		case ia.FlowLabel() != ib.FlowLabel():
			return ReasonFlowLabel, ReasonNone
		case ia.HopLimit() != ib.HopLimit():
			return ReasonTTL, ReasonNone
		case ia.NextHeader() != ib.NextHeader() || !bytes.Equal(ia[header.IPv6MinimumSize:], ib[header.IPv6MinimumSize:]):
			return ReasonIPOptions, ReasonNone
		}
	}
	pl := f.payloadLen()
	if first.proto == header.ProtoTCP {
		if f.hdrEnd != first.hdrEnd {
			return ReasonTCPOptions, ReasonNone
		}
		ta, tb := first.tcp(), f.tcp()
		fb := tb.Flags()
		const psh, fin, cwr = header.TCPFlagPSH, header.TCPFlagFIN, header.TCPFlagCWR
		switch {
		case tb.SequenceNumber() != r.nextSeq:
			return ReasonSeq, ReasonNone
		case ta.AckNumber() != tb.AckNumber():
			return ReasonAck, ReasonNone
		case fb&cwr != 0:
			return ReasonCWR, ReasonNone
		case fb&^(psh|fin) != r.flags&^(cwr|psh|fin):
			return ReasonFlagsDiffer, ReasonNone
		case ta.Reserved() != tb.Reserved() || ta.UrgentPointer() != tb.UrgentPointer():
			return ReasonTCPHeader, ReasonNone
		case ta.WindowSize() != tb.WindowSize():
			return ReasonWindow, ReasonNone
		case !bytes.Equal(ta.Options(), tb.Options()):
			return ReasonTCPOptions, ReasonNone
		}
		if fb&(psh|fin) != 0 {
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

// checkOuter decides whether the outer headers of tunnel packet f come
// back from the kernel's tunnel segmentation of run r: skb_udp_tunnel_segment
// copies the first packet's outer headers onto every segment and writes
// only the outer IP length, IPv4 ID (ID0+k), IPv4 checksum, UDP length and,
// with the tunnel checksum flag, the UDP checksum. The link layer, the
// tunnel header and the inner Ethernet header are copied whole.
func (c *Coalescer) checkOuter(r *run, first, f *frame) Reason {
	if f.ol3 != first.ol3 || f.ol4 != first.ol4 || f.l3 != first.l3 || f.ov6 != first.ov6 ||
		!bytes.Equal(first.data[:f.ol3], f.data[:f.ol3]) {
		return ReasonOuterHeader
	}
	if !f.ov6 {
		ia, ib := first.outer4(), f.outer4()
		switch {
		case ia.TOS() != ib.TOS() || ia.FlagsFragment() != ib.FlagsFragment() || ia.TTL() != ib.TTL() ||
			!bytes.Equal(ia.Addresses(), ib.Addresses()) || !bytes.Equal(ia.Options(), ib.Options()):
			return ReasonOuterHeader
		case ib.ID() != r.oid0+uint16(r.n):
			return ReasonOuterIPID
		}
	} else {
		ia, ib := first.outer6(), f.outer6()
		if ia.TrafficClass() != ib.TrafficClass() || ia.FlowLabel() != ib.FlowLabel() || ia.HopLimit() != ib.HopLimit() ||
			!bytes.Equal(ia.Addresses(), ib.Addresses()) || !bytes.Equal(ia[header.IPv6MinimumSize:], ib[header.IPv6MinimumSize:]) {
			return ReasonOuterHeader
		}
	}
	ua, ub := first.outerUDP(), f.outerUDP()
	switch {
	case ua.Ports() != ub.Ports():
		return ReasonOuterHeader
	case (ua.Checksum() == 0) != (ub.Checksum() == 0):
		return ReasonOuterCsum
	case !bytes.Equal(first.data[f.ol4+header.UDPSize:f.l3], f.data[f.ol4+header.UDPSize:f.l3]):
		return ReasonOuterHeader
	}
	return ReasonNone
}

// checkFragment decides whether fragment f continues train r: the next
// offset, the headers UFO copies from the first fragment (link layer, TOS,
// TTL, options; ID, addresses and protocol are in the key), and gso_size
// bytes of IP payload on every fragment but the last. The last one ends the
// train.
func (c *Coalescer) checkFragment(r *run, f *frame, p *pcaps.Packet) (why, after Reason) {
	first := r.view()
	switch {
	case f.frag != fragNext || f.fragOff != r.nextOff:
		return ReasonFragOrder, ReasonNone
	case f.l3 != first.l3 || !bytes.Equal(first.data[:f.l3], f.data[:f.l3]):
		return ReasonL2Header, ReasonNone
	case f.l4 != first.l4 || !bytes.Equal(first.ipv4().Options(), f.ipv4().Options()):
		return ReasonIPOptions, ReasonNone
	case first.ipv4().TOS() != f.ipv4().TOS():
		return ReasonTOS, ReasonNone
	case first.ipv4().TTL() != f.ipv4().TTL():
		return ReasonTTL, ReasonNone
	}
	pl := len(f.data) - f.l4
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
	if c.borrow {
		r.parts = append(r.parts, pl)
		if r.frag {
			r.wholes = append(r.wholes, p.Data)
		}
	} else if need := len(r.buf) + len(pl); need > cap(r.buf) {
		nb := c.getBuf(need)
		nb = append(nb, r.buf...)
		c.putBuf(r.buf)
		r.buf = nb
	}
	if !c.borrow {
		r.buf = append(r.buf, pl...)
	}
	r.ipLen += len(pl)
	r.n++
	if r.f.proto == header.ProtoTCP {
		r.nextSeq += uint32(len(pl))
		r.last = f.tcp().Flags()
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
		c.retainable, c.retained = true, false
		err := c.emitRun(r)
		if !c.retained {
			c.putBuf(r.buf)
		}
		c.retainable, c.retained = false, false
		r.buf, r.whole = nil, false
		clear(r.parts) // no reference to the caller's packets stays behind
		clear(r.wholes)
		r.parts, r.wholes = r.parts[:0], r.wholes[:0]
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
	rec.Meta = Meta{Segs: 1}
	rec.Parts, rec.Borrowed = nil, false
	if r.whole {
		// Passed through with its block: r.pkt points into buf already.
		if !rec.Packet.IsBlock() {
			c.stats.Records++
		}
		return c.emit(rec)
	}
	rec.Packet.Data = r.buf
	switch {
	case r.frag && !r.complete && r.n > 1:
		return c.emitFragments(r)
	case r.n > 1:
		c.finish(r, rec)
	default:
		if c.borrow {
			// One packet as it came: its own bytes, not its headers.
			rec.Packet.Data, rec.Borrowed = r.wholes[0], true
			c.retainable = false
		}
		if rec.Packet.Length == 0 {
			rec.Packet.Length = len(rec.Packet.Data)
		}
	}
	c.stats.Records++
	return c.emit(rec)
}

// emitFragments gives back the fragments of a train that did not become a
// super-packet. Every fragment's header equals the first one's but for
// length, fragment field and checksum (checkFragment saw to it, and parse
// saw their checksums right), so rebuilding them is exact.
func (c *Coalescer) emitFragments(r *run) error {
	c.retainable = false // the fragments share one buffer
	if c.borrow {
		return c.emitWholes(r)
	}
	b, l3, l4 := r.buf, r.f.l3, r.f.l4
	dgram := b[l4:]
	ts := r.pkt.Timestamp
	for k := 0; k < r.n; k++ {
		chunk := dgram[k*r.gso : min((k+1)*r.gso, len(dgram))]
		c.fbuf = append(append(c.fbuf[:0], b[:l4]...), chunk...)
		ip := header.IPv4(c.fbuf[l3:l4])
		ip.SetTotalLength(uint16(len(c.fbuf) - l3))
		ip.SetFragment(k*r.gso, k < r.n-1 || r.more)
		ip.UpdateChecksum()
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
	// Lengths are the whole super-packet's; in borrow mode r.buf holds
	// only its headers.
	size := len(r.buf)
	if c.borrow {
		size = r.f.top() + r.ipLen
	}
	if c.opts.IPv6Jumbo && r.f.v6 && r.f.proto == header.ProtoTCP &&
		r.f.l4 == r.f.l3+header.IPv6MinimumSize && size-r.f.l4 > 0xffff {
		size = r.insertJumbo(size)
		rec.Packet.Data = r.buf
	}
	f := r.view()
	b, l4 := r.buf, r.buf[r.f.l4:]
	l4Len := size - r.f.l4
	if !f.v6 {
		ip := f.ipv4()
		if r.frag {
			ip.SetFlagsFragment(0) // the whole datagram; UFO writes offset and MF
		}
		ip.SetTotalLength(gso.LenOrZero(size - r.f.l3))
		ip.UpdateChecksum()
	} else {
		f.ipv6().SetPayloadLength(gso.LenOrZero(size - r.f.l3 - header.IPv6MinimumSize))
	}
	h := gso.VnetHeader{Flags: gso.NeedsCsum, GSOSize: uint16(r.gso), HdrLen: uint16(r.f.hdrEnd), CsumStart: uint16(r.f.l4)}
	ip := b[r.f.l3:r.f.l4]
	switch {
	case r.f.proto == header.ProtoTCP:
		h.GSOType = gso.TCPv4
		if r.f.v6 {
			h.GSOType = gso.TCPv6
		}
		if r.flags&header.TCPFlagCWR != 0 {
			h.GSOType |= gso.ECN // what GRO reports for a CWR-first aggregate
		}
		h.CsumOffset = header.TCPChecksumOffset
		const pshFin = header.TCPFlagPSH | header.TCPFlagFIN
		header.TCP(l4).SetFlags(r.flags&^pshFin | r.last&pshFin)
		gso.SeedChecksum(ip, r.f.v6, header.ProtoTCP, l4, uint32(l4Len))
	case r.frag:
		// The UDP checksum stays the whole datagram's: the kernel recomputes
		// it over the datagram anyway (udp4_ufo_fragment).
		h.GSOType = gso.UDP
		h.CsumOffset = header.UDPChecksumOffset
	default:
		h.GSOType = gso.UDPL4
		h.CsumOffset = header.UDPChecksumOffset
		// The seed must use the very 16-bit value stored in uh->len
		// (docs/kernel.md §2.6), truncated above 64 KiB.
		ulen := uint16(l4Len)
		header.UDP(l4).SetLength(ulen)
		gso.SeedChecksum(ip, r.f.v6, header.ProtoUDP, l4, uint32(ulen))
	}
	if f.tunnel {
		// After the inner checksum: the outer one covers it.
		h = gso.FinishTunnel(f.data, size, gso.Outer{L3: f.ol3, L4: f.ol4, V6: f.ov6}, f.l3, h)
	}
	rec.Meta.Vnet = h
	rec.Meta.Segs = r.n
	rec.Meta.Deltas = r.deltas
	if r.skipped {
		rec.Meta.Skips = r.skips
	}
	rec.Packet.Length = size
	rec.Packet.Comment = ""
	if c.borrow {
		rec.Parts = r.parts
	}
	c.stats.SuperPackets++
	c.stats.Merged += int64(r.n)
	c.stats.GSO[h.GSOType.Base()]++
	c.stats.countSegs(r.n)
	if f.tunnel {
		c.stats.Tunnel[b2i(f.ov6)][h.GSOType.Base()]++
		c.stats.TunnelMerged += int64(r.n)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// insertJumbo puts the IPv6 jumbo header between the IPv6 and the TCP
// header of a super-packet of size bytes (Options.IPv6Jumbo) and returns
// the new size. Only the bytes after the IPv6 header move: in borrow mode
// the buffer holds headers alone.
func (r *run) insertJumbo(size int) int {
	at := r.f.l3 + header.IPv6MinimumSize
	var j [header.IPv6JumboSize]byte
	header.IPv6Jumbo(j[:]).Encode(header.ProtoTCP, uint32(size-at+header.IPv6JumboSize))
	r.buf = slices.Insert(r.buf, at, j[:]...)
	header.IPv6(r.buf[r.f.l3:]).SetNextHeader(header.IPv6HopByHop)
	r.f.l4 += header.IPv6JumboSize
	r.f.hdrEnd += header.IPv6JumboSize
	return size + header.IPv6JumboSize
}

// view is the run's first packet's headers over its buffer.
func (r *run) view() *frame {
	f := &r.fview
	*f = r.f
	f.data = r.buf
	return f
}
