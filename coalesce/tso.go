package coalesce

import (
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// TCPView describes a TCP frame whatever its IP length fields say, as
// captures from TSO/GRO hosts hold them (IPv4 total length 0, 64 KB frames,
// partial checksums), so that such a frame can be sent as the super-packet
// it was: gso.BuildTSO takes its Offsets. Parse reads one from a frame;
// Classified.TCPView gives it for a classified segment without reading the
// headers again.
type TCPView struct {
	gso.Offsets
	Flow    Flow
	Flags   header.TCPFlags
	MSS     int // MSS option of a SYN, 0 if none
	Payload int
}

// TCPView is, for a TCP segment cl found mergeable, the view
// TCPView.Parse would read of frame (the packet cl classified), without walking its
// headers again; ok is false for any other packet. Such a segment has no
// SYN, hence no MSS.
func (cl *Classified) TCPView(frame []byte) (v TCPView, ok bool) {
	f := &cl.f
	if cl.refusal != ReasonNone || f.proto != header.ProtoTCP || f.frag != fragNone || f.hdrEnd > len(frame) {
		return v, false
	}
	v.Offsets = gso.Offsets{L3: f.l3, L4: f.l4, HdrEnd: f.hdrEnd, V6: f.v6}
	v.Flow, v.Flags, v.Payload = cl.key, header.TCP(frame[f.l4:f.hdrEnd]).Flags(), len(frame)-f.hdrEnd
	return v, true
}

// ParseTunnel is Parse for an Ethernet frame in which a UDP tunnel (VXLAN,
// GENEVE: header.EthernetTunnel) carries a TCP packet: v is the inner
// packet's, with Offsets.Outer the outer headers and the outer headers in
// its Flow, as the coalescer keys tunnel flows.
func (v *TCPView) ParseTunnel(frame []byte, iface int) bool {
	var outer Flow
	ol3, ol4, ok := locate(frame, layers.LinkTypeEthernet, &outer)
	if !ok || outer.proto != header.ProtoUDP || ol4 > len(frame) {
		*v = TCPView{}
		return false
	}
	kind, n := header.EthernetTunnel(header.UDP(frame[ol4:]))
	inner := ol4 + header.UDPSize + n
	if kind == header.NoTunnel || !v.Parse(frame[inner:], layers.LinkTypeEthernet, iface) {
		*v = TCPView{}
		return false
	}
	v.L3, v.L4, v.HdrEnd = v.L3+inner, v.L4+inner, v.HdrEnd+inner
	v.Outer = gso.Outer{L3: ol3, L4: ol4, V6: outer.v6}
	v.Flow.outer = tunnelHash(frame, ol3, ol4, outer.v6, inner)
	return true
}

// Parse sets v to the headers of a TCP frame, read without trusting its
// lengths, and reports whether frame is one (v is then zero).
func (v *TCPView) Parse(frame []byte, lt layers.LinkType, iface int) bool {
	*v = TCPView{}
	key := Flow{iface: int32(iface)}
	l3, l4, ok := locate(frame, lt, &key)
	version := header.EtherTypeIPv4
	if key.v6 {
		version = header.EtherTypeIPv6
	}
	if !ok || key.proto != header.ProtoTCP || header.EtherTypeOfIP(frame[l3]) != version || l4+header.TCPMinimumSize > len(frame) {
		return false
	}
	th := header.TCP(frame[l4:])
	if !th.IsValid() {
		return false
	}
	key.ports = th.Ports()
	v.Flow, v.L3, v.L4, v.HdrEnd, v.V6, v.Flags = key, l3, l4, l4+th.DataOffset(), key.v6, th.Flags()
	v.Payload = len(frame) - v.HdrEnd
	if v.Flags&header.TCPFlagSYN != 0 {
		v.MSS = th.MSS()
	}
	return true
}
