package replay

import (
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/split"
)

// Observer sees what a replay sends, so that a caller can tell what must
// come out (verify builds its expectation from it). Set it in
// Options.Observer. Each pipeline (shard, 0 with one) calls it in capture
// order, never two calls of one pipeline at once; calls of different
// pipelines may overlap. What a call is given is valid during the call
// only.
type Observer interface {
	// Frame is a frame of a raw capture that must come out as it stands:
	// merged into a super-packet or sent alone, as an Ethernet frame (before
	// rewriting), with the number of its record (from 1).
	Frame(shard int, p *pcaps.Packet, record int64)
	// Sent is a record sent as it stands whose frames Frame does not show:
	// each record of a coalesced capture, and each frame captured whole on
	// a TSO/GRO host that is sent as a super-packet of its own.
	Sent(shard int, s *Sent) error
}

// A Keeper is an Observer that keeps the frames it is shown where they
// lie instead of copying them, where the replay reads the capture into a
// ring of its own (a pcap of Ethernet frames, streamed, not rewritten):
// there it shows each frame to Borrowed instead of Frame, and calls
// Reclaim before it overwrites a part of the ring. Reclaim may wait (for
// a comparison to catch up, say): the shard's reading waits with it.
type Keeper interface {
	Observer
	// Borrowed is Frame for a frame whose p.Data stays valid and unchanged
	// after the call, until Reclaim(shard, before) with before > p.Offset.
	Borrowed(shard int, p *pcaps.Packet, record int64)
	// Reclaim is called before the shard reuses the memory of the frames
	// Borrowed showed with Offset < before: when it returns, the Keeper
	// must hold none of them. A shard's last call, at the end of the
	// replay, has before = math.MaxInt64.
	Reclaim(shard int, before int64)
}

// Sent is one record Observer.Sent is shown.
type Sent struct {
	// Frame is the whole frame as it leaves, rewritten; with Vnet, what
	// the kernel segments.
	Frame []byte
	Vnet  gso.VnetHeader
	// Record is the capture record's number (from 1).
	Record int64
	// Side is the interface it leaves by (SourceOptions.Split).
	Side split.Side
	// Built marks a frame captured whole on a TSO/GRO host; GSOFrom says
	// where its gso_size came from.
	Built   bool
	GSOFrom string
}
