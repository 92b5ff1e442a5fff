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

// ViewTCP reads the headers of a TCP frame without trusting its lengths.
func ViewTCP(frame []byte, lt layers.LinkType, iface int) (TCPView, bool) {
	var v TCPView
	l3, etype, st := header.Network(frame, lt)
	if st != header.LinkOK {
		return v, false
	}
	key := Flow{iface: int32(iface), proto: header.ProtoTCP}
	var l4 int
	if etype == header.EtherTypeIPv4 {
		ip := header.IPv4(frame[l3:])
		if len(ip) < header.IPv4MinimumSize || ip.Version() != 4 || ip.Protocol() != header.ProtoTCP || ip.IsFragment() {
			return v, false
		}
		l4 = l3 + ip.HeaderLength()
		key.set4(ip)
	} else {
		ip := header.IPv6(frame[l3:])
		if !ip.IsValid() {
			return v, false
		}
		off, proto, st := ip.Transport()
		if st != header.ExtOK || proto != header.ProtoTCP {
			return v, false
		}
		l4 = l3 + off
		key.set6(ip)
		v.V6 = true
	}
	if l4+header.TCPMinimumSize > len(frame) {
		return v, false
	}
	th := header.TCP(frame[l4:])
	if !th.IsValid() {
		return v, false
	}
	key.ports = th.Ports()
	v.Flow, v.L3, v.L4, v.HdrEnd, v.Flags = key, l3, l4, l4+th.DataOffset(), th.Flags()
	v.Payload = len(frame) - v.HdrEnd
	if v.Flags&header.TCPFlagSYN != 0 {
		v.MSS = th.MSS()
	}
	return v, true
}
