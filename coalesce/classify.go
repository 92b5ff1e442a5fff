package coalesce

import "github.com/gsoreplay/gsoreplay/pcaps"

// Classified is what the coalescer learns about a packet alone — its
// headers, flow and whether it may merge at all — computed apart from the
// coalescer's state, so that a pipeline can classify on one core (the
// checksums are the cost) and merge on another.
type Classified struct {
	f       frame
	key     Flow
	refusal Reason
	keyed   bool
}

// Classify fills cl for p.
func (cl *Classified) Classify(p *pcaps.Packet) {
	cl.key = Flow{iface: int32(p.Interface)}
	cl.refusal, cl.keyed = parse(&cl.f, p.Data, p.Length, p.LinkType, &cl.key)
	if cl.refusal != ReasonNone {
		return
	}
	switch {
	case p.Verbatim:
		cl.refusal = ReasonKeptBlock
	case p.Length < len(p.Data):
		cl.refusal = ReasonOverWire
	case p.Comment != "" && p.Options == nil:
		// Nowhere to keep it: a pcapng packet's comment is one of its
		// Options, which a super-packet keeps.
		cl.refusal = ReasonComment
	}
}

// SetInterface moves a classified packet to interface i, as if
// Packet.Interface had been i when it was classified: a flow's packets on
// different interfaces (or sides of a split) never merge.
func (cl *Classified) SetInterface(i int) { cl.key.iface = int32(i) }

// Flow is the flow of the packet cl classified, as the coalescer keys it:
// ok when its network and transport headers could be read, even if it
// may not merge (it then ends its flow's run), and never for a fragment
// (a train is one datagram, not a flow).
func (cl *Classified) Flow() (k Flow, ok bool) {
	if !cl.keyed || cl.key.frag {
		return Flow{}, false
	}
	return cl.key, true
}
