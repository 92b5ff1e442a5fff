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
