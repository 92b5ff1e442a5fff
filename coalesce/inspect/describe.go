package inspect

import (
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// PacketInfo is what reports need to know about one packet.
type PacketInfo struct {
	IPVersion int   // 4, 6, or 0 when not IP (or not a supported link type)
	Proto     uint8 // IP protocol (after IPv6 extension headers)
	// Flow is the packet's flow as the coalescer keys it, when HasFlow.
	Flow    coalesce.Flow
	HasFlow bool
}

// Describe tells what reports need to know about a frame of wireLen bytes
// on the wire, as the coalescer sees it: flows are counted as they merge.
func Describe(data []byte, wireLen int, lt layers.LinkType, iface int) PacketInfo {
	var cl coalesce.Classified
	cl.Classify(&pcaps.Packet{Data: data, Length: wireLen, LinkType: lt, Interface: iface})
	return describe(data, lt, &cl)
}

// describe is Describe for a frame cl classified.
func describe(data []byte, lt layers.LinkType, cl *coalesce.Classified) PacketInfo {
	var info PacketInfo
	info.Flow, info.HasFlow = cl.Flow()
	info.IPVersion, info.Proto = network(data, lt)
	return info
}

// network reads a frame's IP version and protocol: a header that is not
// valid is not IP, and an IPv6 packet's protocol is known only past its
// extension headers (a BIG TCP packet's jumbo option included), as far as
// the frame holds them.
func network(data []byte, lt layers.LinkType) (version int, proto uint8) {
	l3, etype, st := header.Network(data, lt)
	if st != header.LinkOK {
		return 0, 0
	}
	if etype == header.EtherTypeIPv4 {
		ip := header.IPv4(data[l3:])
		if !ip.IsValid() {
			return 0, 0
		}
		return 4, ip.Protocol()
	}
	ip := header.IPv6(data[l3:])
	if !ip.IsValid() {
		return 0, 0
	}
	if _, p, est := ip.Transport(); est == header.ExtOK {
		return 6, p
	}
	return 6, 0
}
