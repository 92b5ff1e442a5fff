package coalesce

import (
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// TCPView describes a TCP frame whatever its IP length fields say, as
// captures from TSO/GRO hosts hold them (IPv4 total length 0, 64 KB frames,
// partial checksums). gso.BuildTSO takes its Offsets.
type TCPView struct {
	gso.Offsets
	Flow    Flow
	Flags   header.TCPFlags
	MSS     int // MSS option of a SYN, 0 if none
	Payload int
}

// TCPView is, for a TCP segment cl found mergeable, the view ViewTCP
// would read of frame (the packet cl classified), without walking its
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

// ViewTCP reads the headers of a TCP frame without trusting its lengths.
func ViewTCP(frame []byte, lt layers.LinkType, iface int) (TCPView, bool) {
	var v TCPView
	key := Flow{iface: int32(iface)}
	l3, l4, ok := locate(frame, lt, &key)
	version := header.EtherTypeIPv4
	if key.v6 {
		version = header.EtherTypeIPv6
	}
	if !ok || key.proto != header.ProtoTCP || header.EtherTypeOfIP(frame[l3]) != version || l4+header.TCPMinimumSize > len(frame) {
		return v, false
	}
	th := header.TCP(frame[l4:])
	if !th.IsValid() {
		return v, false
	}
	key.ports = th.Ports()
	v.Flow, v.L3, v.L4, v.HdrEnd, v.V6, v.Flags = key, l3, l4, l4+th.DataOffset(), key.v6, th.Flags()
	v.Payload = len(frame) - v.HdrEnd
	if v.Flags&header.TCPFlagSYN != 0 {
		v.MSS = th.MSS()
	}
	return v, true
}
