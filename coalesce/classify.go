package coalesce

import (
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Classified is what the coalescer learns about a packet alone — its
// headers, flow and whether it may merge at all — computed apart from the
// coalescer's state, so that a pipeline can classify on one core (the
// checksums are the cost) and merge on another.
type Classified struct {
	f       frame
	key     Flow
	refusal Reason
	keyed   bool
	raw     Reason // the frame's refusal, before the packet's own
	// Through its tunnel, for tunnel GSO (Options.TunnelGSO): read only
	// when a coalescer with it asks (view), so that a UDP packet costs
	// nothing more without. tparsed says it was read; t, tkey, trefusal
	// and tkeyed are the inner packet's if tunnel.
	tparsed, tunnel bool
	t               frame
	tkey            Flow
	trefusal        Reason
	tkeyed          bool
}

// Classify fills cl for p.
func (cl *Classified) Classify(p *pcaps.Packet) {
	cl.key = Flow{iface: int32(p.Interface)}
	cl.raw, cl.keyed = parse(&cl.f, p.Data, p.Length, p.LinkType, &cl.key)
	cl.refusal = packetRefusal(cl.raw, p)
	cl.tparsed = false
}

// packetRefusal adds to a frame's refusal what the packet's record
// forbids.
func packetRefusal(r Reason, p *pcaps.Packet) Reason {
	if r != ReasonNone {
		return r
	}
	switch {
	case p.Verbatim:
		return ReasonKeptBlock
	case p.Length < len(p.Data):
		return ReasonOverWire
	case p.Comment != "" && p.Options == nil:
		// Nowhere to keep it: a pcapng packet's comment is one of its
		// Options, which a super-packet keeps.
		return ReasonComment
	}
	return ReasonNone
}

// view is what the coalescer merges by: the packet through its tunnel
// when tunnel GSO is on and it is a tunnel packet, else the packet; p is
// the packet cl classified, with cl.f.data its bytes.
func (cl *Classified) view(tunnels bool, p *pcaps.Packet) (f *frame, key *Flow, refusal Reason, keyed bool) {
	if tunnels && !cl.tparsed {
		cl.tparsed, cl.tunnel = true, false
		// The kernel's tunnel segmentation keeps a zero outer checksum.
		if cl.keyed && cl.f.proto == header.ProtoUDP && cl.f.frag == fragNone &&
			(cl.raw == ReasonNone || cl.raw == ReasonUDPZeroCsum) {
			cl.tkey = Flow{iface: cl.key.iface}
			cl.trefusal, cl.tkeyed, cl.tunnel = parseTunnel(&cl.t, &cl.f, &cl.tkey)
			cl.trefusal = packetRefusal(cl.trefusal, p)
		}
	}
	if tunnels && cl.tunnel {
		return &cl.t, &cl.tkey, cl.trefusal, cl.tkeyed
	}
	return &cl.f, &cl.key, cl.refusal, cl.keyed
}

// SetInterface moves a classified packet to interface i, as if
// Packet.Interface had been i when it was classified: a flow's packets on
// different interfaces (or sides of a split) never merge.
func (cl *Classified) SetInterface(i int) { cl.key.iface, cl.tkey.iface = int32(i), int32(i) }

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
