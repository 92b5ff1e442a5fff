package coalesce

import (
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// frame is a view of the headers of one captured frame: offsets into data,
// nothing copied. Offsets count from the first byte of the frame as captured
// (so for Linux cooked captures from the start of the SLL header).
type frame struct {
	data   []byte
	l3     int // network header
	l4     int // transport header (after IPv6 extension headers)
	hdrEnd int // end of the transport header
	v6     bool
	proto  uint8 // protocol in the network header (IPv6: after extension headers)
	// IPv4 UDP fragments that may join a UFO train: fragFirst carries the
	// UDP header (hdrEnd after it), fragNext only data (hdrEnd == l4).
	frag    uint8
	fragOff int  // offset of the fragment's IP payload in the datagram
	more    bool // MF
	// A packet in a UDP tunnel (VXLAN, GENEVE) seen as tunnel GSO sees it:
	// l3 to hdrEnd, v6 and proto are the inner packet's, ol3 and ol4 the
	// outer IP and UDP headers, ov6 the outer IP version.
	tunnel   bool
	ol3, ol4 int
	ov6      bool
}

// top is the outermost network header: where IP lengths are measured.
func (f *frame) top() int {
	if f.tunnel {
		return f.ol3
	}
	return f.l3
}

func (f *frame) outer4() header.IPv4 { return header.IPv4(f.data[f.ol3:f.ol4]) }
func (f *frame) outer6() header.IPv6 { return header.IPv6(f.data[f.ol3:f.ol4]) }
func (f *frame) outerUDP() header.UDP {
	return header.UDP(f.data[f.ol4 : f.ol4+header.UDPSize])
}

const (
	fragNone = iota
	fragFirst
	fragNext
)

func (f *frame) ipv4() header.IPv4 { return header.IPv4(f.data[f.l3:f.l4]) }
func (f *frame) ipv6() header.IPv6 { return header.IPv6(f.data[f.l3:f.l4]) }
func (f *frame) tcp() header.TCP   { return header.TCP(f.data[f.l4:f.hdrEnd]) }
func (f *frame) udp() header.UDP   { return header.UDP(f.data[f.l4:]) }
func (f *frame) payload() []byte   { return f.data[f.hdrEnd:] }
func (f *frame) payloadLen() int   { return len(f.data) - f.hdrEnd }

// linkReason is the refusal for a link-layer header that leads to no IP.
var linkReason = [...]Reason{
	header.LinkTruncated:   ReasonMalformed,
	header.LinkUnsupported: ReasonLinkType,
	header.LinkNotIP:       ReasonNotIP,
}

// parse fills f from a captured frame and reports whether it could be part of
// a super-packet; wireLen is the length on the wire. It checks everything a
// single packet must satisfy (docs/merge-rules.md): complete frame, no padding,
// no fragments, correct checksums, TCP/UDP with payload, no SYN/RST/URG.
// The flow key is valid whenever the IP and L4 headers could be read, even if
// the packet is refused, so that it can close its flow's run.
func parse(f *frame, data []byte, wireLen int, lt layers.LinkType, key *Flow) (reason Reason, keyed bool) {
	*f = frame{data: data}
	l3, etype, st := header.Network(data, lt)
	if st != header.LinkOK {
		return linkReason[st], false
	}
	f.l3 = l3
	var ipEnd int
	if etype == header.EtherTypeIPv4 {
		ip := header.IPv4(data[l3:])
		if !ip.IsValid() {
			return ReasonMalformed, false
		}
		f.proto = ip.Protocol()
		f.l4 = l3 + ip.HeaderLength()
		ipEnd = l3 + int(ip.TotalLength())
		if int(ip.TotalLength()) < ip.HeaderLength() {
			return ReasonIPLength, false
		}
		key.set4(ip)
	} else {
		ip := header.IPv6(data[l3:])
		if !ip.IsValid() {
			return ReasonMalformed, false
		}
		f.v6 = true
		if ip.PayloadLength() == 0 {
			return ReasonIPLength, false // jumbogram or BIG TCP
		}
		ipEnd = l3 + header.IPv6MinimumSize + int(ip.PayloadLength())
		key.set6(ip)
		l4, proto, st := ip.Transport()
		if st != header.ExtOK {
			return extReason(st), false
		}
		f.proto = proto
		f.l4 = l3 + l4
		if f.l4 > len(data) {
			return ReasonMalformed, false
		}
	}
	key.proto = f.proto
	if len(data) < wireLen {
		return ReasonTruncated, false
	}
	if ipEnd > len(data) {
		return ReasonIPLength, false
	}
	if f.l4 > ipEnd {
		return ReasonMalformed, false
	}
	if !f.v6 {
		ip := f.ipv4()
		if !ip.IsChecksumValid() {
			return ReasonIPv4Checksum, false
		}
		if ip.IsFragment() {
			return parseFragment(f, data, ipEnd, key)
		}
	} else if f.proto == header.ProtoESP || f.proto == header.ProtoAH {
		return ReasonIPv6ExtHeader, false
	}
	l4 := data[f.l4:ipEnd]
	switch f.proto {
	case header.ProtoTCP:
		th := header.TCP(l4)
		if !th.IsValid() {
			return ReasonMalformed, false
		}
		f.hdrEnd = f.l4 + th.DataOffset()
		key.ports = th.Ports()
	case header.ProtoUDP:
		uh := header.UDP(l4)
		if !uh.IsValid() {
			return ReasonMalformed, false
		}
		f.hdrEnd = f.l4 + header.UDPSize
		key.ports = uh.Ports()
	default:
		return ReasonNotTCPUDP, false
	}
	keyed = true
	if ipEnd != len(data) {
		return ReasonPadding, true
	}
	addrs := f.addresses()
	if f.proto == header.ProtoUDP {
		uh := header.UDP(l4)
		if int(uh.Length()) != len(l4) {
			return ReasonMalformed, true
		}
		if uh.Checksum() == 0 {
			return ReasonUDPZeroCsum, true
		}
		if uh.Checksum() != header.TransportChecksum(addrs, header.ProtoUDP, l4) {
			return ReasonL4Checksum, true
		}
	} else {
		th := header.TCP(l4)
		// Exact comparison, not "sums to -0": a stored 0xFFFF where the
		// checksum is 0x0000 verifies, but GSO would write 0x0000.
		if th.Checksum() != header.TransportChecksum(addrs, header.ProtoTCP, l4) {
			return ReasonL4Checksum, true
		}
		if th.Flags()&(header.TCPFlagSYN|header.TCPFlagRST|header.TCPFlagURG) != 0 {
			return ReasonTCPFlags, true
		}
	}
	if f.payloadLen() == 0 {
		return ReasonNoPayload, true
	}
	return ReasonNone, true
}

// parseTunnel fills t for the inner packet of f, a UDP datagram parsed
// without refusal but for a zero checksum, when f's destination port and
// payload make it a VXLAN or GENEVE packet with an Ethernet frame inside.
// The inner packet must pass parse as a packet of its own; the outer
// headers enter its key as a hash (check compares them whole).
func parseTunnel(t *frame, f *frame, key *Flow) (reason Reason, keyed, ok bool) {
	kind, n := header.EthernetTunnel(f.udp())
	if kind == header.NoTunnel {
		return ReasonNone, false, false
	}
	data := f.data
	inner := f.hdrEnd + n
	reason, keyed = parse(t, data[inner:], len(data)-inner, layers.LinkTypeEthernet, key)
	key.outer = tunnelHash(data, f.l3, f.l4, f.v6, inner)
	t.data = data
	t.l3, t.l4, t.hdrEnd = t.l3+inner, t.l4+inner, t.hdrEnd+inner
	t.tunnel, t.ol3, t.ol4, t.ov6 = true, f.l3, f.l4, f.v6
	if reason == ReasonNone && t.frag != fragNone {
		reason = ReasonFragment
	}
	return reason, keyed && t.frag == fragNone, true
}

// tunnelHash is the part of a tunnel packet's flow key that its outer
// headers make (outer IP at l3, UDP at l4, inner frame at inner): the
// outer addresses, ports and tunnel header keep a tunnel's flows, and each
// direction's, apart.
func tunnelHash(data []byte, l3, l4 int, v6 bool, inner int) uint64 {
	var addrs []byte
	if v6 {
		addrs = header.IPv6(data[l3:]).Addresses()
	} else {
		addrs = header.IPv4(data[l3:]).Addresses()
	}
	return hashBytes(hashBytes(hashBytes(0, addrs), data[l4:l4+4]), data[l4+header.UDPSize:inner])
}

// addresses are the pseudo-header's addresses.
func (f *frame) addresses() []byte {
	if f.v6 {
		return f.ipv6().Addresses()
	}
	return f.ipv4().Addresses()
}

func extReason(st header.ExtStatus) Reason {
	if st == header.ExtFragment {
		return ReasonFragment
	}
	return ReasonMalformed
}

// parseFragment accepts an IPv4 fragment that may be part of a UFO train
// (docs/merge-rules.md §4): UDP, DF and the reserved bit clear,
// nothing after the datagram, every fragment but the last a multiple of 8
// bytes, and a first fragment whose UDP header promises more than it holds
// and carries a checksum. Whether the train is whole and its checksum right
// is only known at its end. Fragments are keyed by addresses and IP ID.
func parseFragment(f *frame, data []byte, ipEnd int, key *Flow) (Reason, bool) {
	ip := f.ipv4()
	if f.proto != header.ProtoUDP || ip.FlagsFragment()&(header.IPv4FlagDF|header.IPv4FlagReserved) != 0 {
		return ReasonFragment, false
	}
	key.proto = header.ProtoUDP
	key.ports = uint32(ip.ID())
	key.frag = true
	f.more = ip.MF()
	f.fragOff = ip.FragmentOffset()
	pl := ipEnd - f.l4
	if ipEnd != len(data) {
		return ReasonPadding, true
	}
	if pl == 0 || (f.more && pl%8 != 0) {
		return ReasonMalformed, true
	}
	if f.fragOff > 0 {
		f.frag, f.hdrEnd = fragNext, f.l4
		return ReasonNone, true
	}
	if pl < header.UDPSize {
		return ReasonMalformed, true
	}
	uh := f.udp()
	if int(uh.Length()) <= pl {
		return ReasonMalformed, true
	}
	if uh.Checksum() == 0 {
		return ReasonUDPZeroCsum, true
	}
	f.frag, f.hdrEnd = fragFirst, f.l4+header.UDPSize
	return ReasonNone, true
}
