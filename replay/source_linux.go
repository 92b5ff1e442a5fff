package replay

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
	"github.com/gsoreplay/gsoreplay/replay/split"
)

// item is one thing to send: a frame and its virtio header, standing for
// Segs frames on the wire.
type item struct {
	// Frame is an Ethernet frame, valid until the callback returns (but
	// see Release and Stable).
	Frame []byte
	// Parts, when not nil, is the rest of the frame after Frame: the
	// payloads of a super-packet where the capture holds them (a Source in
	// borrow mode). They stay valid until the sender's next flush.
	Parts [][]byte
	// Stable says Frame too stays valid until the sender's next flush.
	Stable bool
	Vnet   gso.VnetHeader
	Segs   int
	// Wire is the bytes the Segs frames put on the wire.
	Wire      int
	Timestamp time.Time
	// Built marks a super-packet made from a frame captured whole on a
	// TSO/GRO host; GSOFrom says where its gso_size came from.
	Built   bool
	GSOFrom string
	// Release, when set, gives Frame back to the coalescer that made it:
	// whoever takes the item may keep Frame until it calls Release (a
	// Sender hands it to the kernel without copying it), and must call it
	// once done. When nil, Frame is valid only during the callback.
	Release func([]byte)
	// Side is the interface the item leaves by (SourceOptions.Split):
	// split.Primary (-i) or split.Secondary (-I).
	Side split.Side
	// Record is the number (from 1) of the capture record the item is, when
	// it is one record as it stands: a frame sent alone, a record of a
	// coalesced file, a TSO/GRO host's frame; 0 for what the coalescer
	// emits.
	Record int64
	// paced says the item was due at due after the replay's start (set as
	// it is queued; the send-time error is measured against it).
	paced bool
	due   time.Duration
}

// feedStats counts what a Source did.
type feedStats struct {
	Packets    int64 // packets read (records for a coalesced input)
	Items      int64
	Supers     int64
	Frames     int64 // frames the items stand for
	InSupers   int64 // frames travelling inside super-packets of the input or the coalescer
	Built      int64 // super-packets built from TSO/GRO frames
	Skipped    int64 // frames of link types that cannot be sent on Ethernet
	Coalesced  bool  // the input was a coalesced file
	Unsent     int64 // packets the split leaves out (a tcpprep cache's "no send")
	Coalescing *coalesce.Stats
	// Segs counts the super-packets by segments (coalesce.SegmentBucket).
	Segs [8]int64
}

// source turns a capture into items.
type source struct {
	opts   SourceOptions
	eth    []byte
	ethPkt pcaps.Packet // the frame handed on, as an Ethernet packet
	meta   coalesce.Meta
	item   item
	seg    gso.Segmenter         // counts the segments of vnet records
	mss    map[coalesce.Flow]int // MSS each host announced in its SYN
	full   map[coalesce.Flow]int // largest ordinary segment per flow
	// full[lastFlow] == lastFull
	lastFlow coalesce.Flow
	lastFull int
	Stats    feedStats
	borrow   bool // see Borrow
	// the current pass (Begin)
	name string
	fn   func(*item) error
	c    *coalesce.Coalescer
	rw   *rewrite.Rewriter // SourceOptions.Rewrite's
	side split.Side        // the side of the packet being fed
	// obs, if set, is shown what is sent (Options.Observer), as pipeline
	// shard.
	obs    Observer
	keeper Keeper // obs, if it is one
	shard  int
	sent   Sent
	joined []byte // a super-packet's frame and parts, for obs
	// flows, if set, counts the flows of what is fed (Options.FlowStats),
	// with the pass's address shift (Options.UniqueIP) when flowShift.
	flows     *flowTable
	flowShift bool
	flowK     uint64
}

// newSource returns a Source for options o (a bad Rewrite is an error).
func newSource(o SourceOptions) (*source, error) {
	if o.MTU == 0 {
		o.MTU = 1500
	}
	if o.Rewrite != nil && o.Rewrite.PerFrame() {
		// Edits of single frames (--mtu-trunc): nothing may merge.
		o.NoCoalesce = true
	}
	s := &source{opts: o, mss: map[coalesce.Flow]int{}, full: map[coalesce.Flow]int{}}
	if o.Rewrite != nil {
		var err error
		if s.rw, err = rewrite.New(*o.Rewrite); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Rewriter is the Source's rewriter (nil without SourceOptions.Rewrite):
// its Stats say what the maps matched.
func (s *source) Rewriter() *rewrite.Rewriter { return s.rw }

// Borrow switches borrow mode on or off for the passes begun after it. In
// borrow mode the Source keeps slices of the packets it is given instead
// of copying them, and its items carry them (Item.Parts, Item.Stable): the
// caller must keep every packet's Data valid and unchanged until the items
// made of it are sent, and calls Expire to get packets back. For captures
// of Ethernet frames, which go out as they are read (a frame of another
// link type goes alone, copied).
func (s *source) Borrow(on bool) { s.borrow = on }

// Expire sends on the items that hold packets read before offset (by
// pcaps.Packet.Offset): after it, and after the sender's flush, those
// packets may be reused. Only borrow mode needs it.
func (s *source) Expire(offset int64) error {
	if s.c == nil {
		return nil
	}
	return s.c.ExpireBefore(offset)
}

// newSources returns n Sources with the same options, one per pipeline,
// showing what they send to obs (if not nil) as shards 0 to n-1.
func newSources(o SourceOptions, n int, obs Observer) ([]*source, error) {
	out := make([]*source, max(n, 1))
	for i := range out {
		var err error
		if out[i], err = newSource(o); err != nil {
			return nil, err
		}
		out[i].obs, out[i].shard = obs, i
		out[i].keeper, _ = obs.(Keeper)
	}
	return out, nil
}

// Feed reads r to the end and hands every item to fn. It may be called
// again for another pass (loops); the statistics accumulate.
func (s *source) Feed(r *pcaps.Reader, fn func(*item) error) error {
	s.Begin(r.Name(), isCoalesced(r), fn)
	if err := r.Each(func(p *pcaps.Packet) error { return s.Packet(p, r.Count()) }); err != nil {
		return err
	}
	return s.End()
}

// isCoalesced reports a capture written by "gsoreplay coalesce": its section
// header says so, or it is a vnet file. Its records are sent as they are,
// merged or not.
func isCoalesced(r *pcaps.Reader) bool {
	_, ok := capfile.ParseOrigin(r.SectionComment())
	return ok || r.Format() == pcaps.FormatVnet
}

// Begin starts a pass over the capture name (coalesced, as IsCoalesced
// says); Packet then takes its packets in order and End finishes the pass.
// Items go to fn. Feed does all three for one reader; a pipeline that splits
// a capture between Sources calls them itself.
func (s *source) Begin(name string, coalesced bool, fn func(*item) error) {
	s.name, s.fn, s.c = name, fn, nil
	if !s.opts.NoCoalesce {
		var c *coalesce.Coalescer
		var release func([]byte) // one method value, not one per record
		c = coalesce.New(s.opts.Coalesce, func(rec *coalesce.Record) error {
			s.item.Release = nil
			if !rec.Borrowed && c.Retain() {
				s.item.Release = release
			}
			s.side = split.Side(rec.Packet.Interface)
			return s.emit(rec.Packet.Data, rec.Parts, rec.Borrowed, rec.Meta.Vnet, rec.Meta.Segs, rec.Packet.Timestamp, false, "", 0)
		})
		release = c.Release
		if s.borrow {
			c.Borrow()
		}
		s.c = c
	}
	if coalesced {
		s.Stats.Coalesced = true
	}
}

// Packet takes the next packet of the pass, the record-th of the capture
// (for errors).
func (s *source) Packet(p *pcaps.Packet, record int64) error {
	return s.feed(p, record, nil)
}

// PacketClassified is Packet for an Ethernet packet that cl classified
// (coalesce.Classified.Classify) on another core, p.Data unchanged since.
func (s *source) PacketClassified(p *pcaps.Packet, record int64, cl *coalesce.Classified) error {
	return s.feed(p, record, cl)
}

// End ends the pass: what the coalescer holds is sent.
func (s *source) End() error {
	if s.c != nil {
		if err := s.c.Close(); err != nil {
			return err
		}
		s.Stats.Coalescing = s.c.Stats()
	}
	return nil
}

// feed turns one packet into items for the pass's fn: a record of a
// coalesced file as it is, a TSO/GRO host's oversized frame as a
// super-packet of its own, any other frame through the coalescer (or alone
// with NoCoalesce).
func (s *source) feed(p *pcaps.Packet, record int64, cl *coalesce.Classified) error {
	s.Stats.Packets++
	if s.opts.Split != nil {
		side, send := s.opts.Split.Side(p, record)
		if !send {
			s.Stats.Unsent++
			return nil
		}
		s.side = side
	}
	if s.flows != nil {
		s.flows.add(p.Data, p.LinkType, p.Timestamp.Unix(), s.flowShift, s.flowK)
	}
	if s.Stats.Coalesced || strings.HasPrefix(p.Comment, coalesce.CommentPrefix) {
		s.Stats.Coalesced = true
		s.meta.Vnet, s.meta.Segs = gso.VnetHeader{}, 1
		s.meta.Deltas, s.meta.Skips = s.meta.Deltas[:0], s.meta.Skips[:0]
		switch {
		case p.Vnet != nil:
			if err := s.meta.SetVnet(&s.seg, p.Vnet, p.Data, p.LinkType); err != nil {
				return fmt.Errorf("%s: record %d: %w", s.name, record, err)
			}
		case strings.HasPrefix(p.Comment, coalesce.CommentPrefix):
			if _, err := coalesce.ParseComment(p.Comment, &s.meta); err != nil {
				return fmt.Errorf("%s: record %d: %w", s.name, record, err)
			}
		}
		frame, shift, ok := toEthernet(s.eth[:0], p)
		if !ok {
			s.Stats.Skipped++
			return nil
		}
		s.eth = frame
		h := s.meta.Vnet
		h.CsumStart, h.HdrLen = shiftOff(h.CsumStart, shift), shiftOff(h.HdrLen, shift)
		return s.emit(frame, nil, s.borrowed(frame, p), h, s.meta.Segs, p.Timestamp, false, "", record)
	}
	frame, _, ok := toEthernet(s.eth[:0], p)
	if !ok {
		s.Stats.Skipped++
		return nil
	}
	s.eth = frame
	if h, segs, from, ok := s.oversized(frame, p, cl); ok && (s.rw == nil || !s.rw.Options().PerFrame()) {
		// What came before leaves first: flush the coalescer.
		if s.c != nil {
			if err := s.c.Close(); err != nil {
				return err
			}
		}
		s.Stats.Built++
		return s.emit(frame, nil, s.borrowed(frame, p), h, segs, p.Timestamp, true, from, record)
	}
	eth := &s.ethPkt // a field: the observer would make a local escape, an allocation per frame
	// The side is the packet's interface to the coalescer: the two sides
	// of a split never merge.
	*eth = pcaps.Packet{Data: frame, Timestamp: p.Timestamp, Length: len(frame) + p.Length - len(p.Data), LinkType: layers.LinkTypeEthernet, Interface: int(s.side)}
	switch {
	case s.keeper != nil && s.rw == nil && s.borrowed(frame, p):
		// The ring's own bytes, which nothing edits: lent, not copied.
		eth.Offset = p.Offset
		s.keeper.Borrowed(s.shard, eth, record)
	case s.obs != nil:
		s.obs.Frame(s.shard, eth, record)
	}
	if s.c == nil {
		return s.emit(frame, nil, s.borrowed(frame, p), gso.VnetHeader{}, 1, p.Timestamp, false, "", record)
	}
	if s.borrow && !s.borrowed(frame, p) {
		// Made Ethernet in the Source's buffer (an interface of another
		// link type that a pcapng file declares after its first packet):
		// the coalescer, which keeps slices of the ring, cannot take it.
		// It goes alone, copied, after what the coalescer holds.
		if err := s.c.Close(); err != nil {
			return err
		}
		return s.emit(frame, nil, false, gso.VnetHeader{}, 1, p.Timestamp, false, "", record)
	}
	if cl != nil && p.LinkType == layers.LinkTypeEthernet {
		cl.SetInterface(int(s.side))
		return s.c.PushClassified(eth, cl)
	}
	return s.c.Push(eth)
}

// borrowed says frame is the packet's own bytes in borrow mode, valid
// until the caller takes the packet back.
func (s *source) borrowed(frame []byte, p *pcaps.Packet) bool {
	return s.borrow && len(frame) > 0 && len(p.Data) > 0 && &frame[0] == &p.Data[0]
}

func shiftOff(v uint16, shift int) uint16 {
	if v == 0 {
		return 0
	}
	return uint16(int(v) + shift)
}

func (s *source) emit(frame []byte, parts [][]byte, stable bool, h gso.VnetHeader, segs int, ts time.Time, built bool, from string, record int64) error {
	it := &s.item
	release := it.Release // set by the coalescer's callback for its records
	if record != 0 {
		release = nil
	}
	super := segs > 1 || h.GSOType != gso.None
	switch {
	case s.rw == nil:
	case s.rw.KeepsLength():
		// Edited where it lies (the Source's, the coalescer's or the
		// capture's bytes, none of which is read again): no copy, and the
		// item as stable as it was.
		if super {
			s.rw.SuperInPlace(frame, parts, &h, layers.LinkTypeEthernet, rewrite.Dir(s.side))
		} else {
			s.rw.FrameInPlace(frame, layers.LinkTypeEthernet, len(frame), rewrite.Dir(s.side))
		}
	default:
		// A tag added or removed: edited into the rewriter's buffer, the
		// original goes back now, and the edited frame is valid during
		// the callback only.
		orig := frame
		if super {
			frame = edited(s.rw.Super(frame, parts, &h, layers.LinkTypeEthernet, rewrite.Dir(s.side)))
		} else {
			frame = edited(s.rw.Frame(frame, layers.LinkTypeEthernet, len(frame), rewrite.Dir(s.side)))
		}
		if release != nil {
			release(orig)
			release = nil
		}
		stable = false
	}
	*it = item{Frame: frame, Parts: parts, Stable: stable, Vnet: h, Segs: segs, Timestamp: ts, Built: built, GSOFrom: from, Record: record, Side: s.side}
	it.Release = release
	it.Wire = wireBytes(it.Len(), frame, h, segs)
	s.Stats.Items++
	s.Stats.Frames += int64(segs)
	if segs > 1 || h.GSOType != gso.None {
		s.Stats.Supers++
		s.Stats.Segs[coalesce.SegmentBucket(segs)]++
		if !built {
			s.Stats.InSupers += int64(segs)
		}
	}
	if s.obs != nil && (built || s.Stats.Coalesced) {
		s.sent = Sent{Frame: frame, Vnet: h, Record: record, Side: s.side, Built: built, GSOFrom: from}
		if len(parts) > 0 {
			s.joined = it.AppendFrame(s.joined[:0])
			s.sent.Frame = s.joined
		}
		if err := s.obs.Sent(s.shard, &s.sent); err != nil {
			return err
		}
	}
	return s.fn(it)
}

// edited is the frame a rewriter returns; the wire length it also returns
// follows from the frame.
func edited(frame []byte, _ int) []byte { return frame }

// Len is the frame's length, parts included.
func (it *item) Len() int {
	n := len(it.Frame)
	for _, p := range it.Parts {
		n += len(p)
	}
	return n
}

// AppendFrame appends the whole frame, parts included, to dst.
func (it *item) AppendFrame(dst []byte) []byte {
	dst = append(dst, it.Frame...)
	for _, p := range it.Parts {
		dst = append(dst, p...)
	}
	return dst
}

// wireBytes is what the segments of a super-packet put on the wire: the
// frame (size bytes, its headers at the front of frame) plus the headers
// repeated in every segment after the first.
func wireBytes(size int, frame []byte, h gso.VnetHeader, segs int) int {
	if segs <= 1 {
		return size
	}
	hdrs := int(h.CsumStart)
	switch h.GSOType.Base() {
	case gso.TCPv4, gso.TCPv6:
		if hdrs+12 < len(frame) { // the data offset lies in byte 12
			hdrs += header.TCP(frame[hdrs:]).DataOffset()
		}
	case gso.UDPL4:
		hdrs += header.UDPSize
	}
	// UFO fragments repeat the link and IP headers, up to csum_start.
	return size + (segs-1)*hdrs
}

// oversized learns MSS values from SYNs and segment sizes, and turns a TCP
// frame above the MTU (a TSO/GRO host's capture) into a super-packet, in
// place: a tunnel super-packet for a TCP packet in a UDP tunnel when
// tunnel GSO is on. It returns its header, segment count and where gso_size came from.
// A packet classified already (cl, on another core) is not read again when
// it is a mergeable TCP segment.
func (s *source) oversized(frame []byte, p *pcaps.Packet, cl *coalesce.Classified) (h gso.VnetHeader, segs int, from string, ok bool) {
	var v coalesce.TCPView
	if cl != nil && p.LinkType == layers.LinkTypeEthernet {
		v, ok = cl.TCPView(frame)
	}
	if !ok {
		// Through its tunnel only where a tunnel super-packet may go.
		ok = v.Parse(frame, layers.LinkTypeEthernet, p.Interface) ||
			s.opts.Coalesce.TunnelGSO && v.ParseTunnel(frame, p.Interface)
		if !ok {
			return h, 0, "", false
		}
	}
	if v.Flags&header.TCPFlagSYN != 0 && v.MSS > 0 {
		s.mss[v.Flow] = v.MSS
	}
	top := v.L3 // where the MTU counts from
	if v.Outer.L4 != 0 {
		top = v.Outer.L3
	}
	if len(frame)-top <= s.opts.MTU {
		// Consecutive frames are mostly of one flow: a one-entry cache
		// spares the map a lookup per frame.
		if v.Flow != s.lastFlow {
			s.lastFlow, s.lastFull = v.Flow, s.full[v.Flow]
		}
		if v.Payload > s.lastFull {
			s.lastFull = v.Payload
			s.full[v.Flow] = v.Payload
		}
		return h, 0, "", false
	}
	if len(p.Data) < p.Length {
		return h, 0, "", false // truncated: nothing to segment
	}
	if v.Outer.L4 != 0 && v.V6 && header.IPv6(frame[v.L3:]).BigTCPJumbo() {
		return h, 0, "", false // no tunnel GSO takes the jumbo option off
	}
	size, from := s.opts.MSS, "--mss"
	if size == 0 {
		opts := v.HdrEnd - v.L4 - header.TCPMinimumSize
		if m, ok := s.mss[v.Flow.Reverse()]; ok && m-opts >= gso.MinTCPSize {
			size, from = m-opts, "the SYN's MSS option"
		} else if f := s.full[v.Flow]; f > 0 {
			size, from = f, "the flow's full-size segments"
		} else {
			hdr := v.HdrEnd - top
			if v.V6 && header.IPv6(frame[v.L3:]).BigTCPJumbo() {
				hdr -= header.IPv6JumboSize // GSO takes it off (gso.Segmenter)
			}
			size, from = s.opts.MTU-hdr, "the egress MTU"
		}
	}
	h, segs, err := gso.BuildTSO(frame, v.Offsets, size)
	if err != nil {
		return h, 0, "", false // sent as it is; the kernel's answer is counted
	}
	return h, segs, from, true
}

// Synthetic addresses for frames captured without an Ethernet header.
var (
	synthDst = []byte{0x02, 0x47, 0x53, 0x4f, 0x00, 0x02}
	synthSrc = []byte{0x02, 0x47, 0x53, 0x4f, 0x00, 0x01}
)

// toEthernet returns the frame as an Ethernet frame, appending to dst when
// the capture's link type has another header, and how far offsets moved.
func toEthernet(dst []byte, p *pcaps.Packet) ([]byte, int, bool) {
	d := p.Data
	if p.LinkType == layers.LinkTypeEthernet {
		return d, 0, header.Ethernet(d).IsValid()
	}
	l2, etype, st := header.Link(d, p.LinkType)
	if st != header.LinkOK || etype == 0 {
		return nil, 0, false
	}
	dst = append(dst, synthDst...)
	dst = append(dst, synthSrc...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(etype))
	dst = append(dst, d[l2:]...)
	return dst, header.EthernetSize - l2, true
}
