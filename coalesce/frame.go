package coalesce

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

const (
	protoTCP = 6
	protoUDP = 17

	etherTypeIPv4   = 0x0800
	etherTypeIPv6   = 0x86DD
	etherType8021Q  = 0x8100
	etherType8021AD = 0x88A8
	etherTypeQinQ   = 0x9100

	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
	tcpURG = 0x20
	tcpECE = 0x40
	tcpCWR = 0x80

	// linkTypeRawBSD is DLT_RAW as some BSDs write it into pcap files.
	linkTypeRawBSD     layers.LinkType = 12
	linkTypeRawOpenBSD layers.LinkType = 14
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
}

const (
	fragNone = iota
	fragFirst
	fragNext
)

func (f *frame) ip() []byte      { return f.data[f.l3:f.l4] }
func (f *frame) l4hdr() []byte   { return f.data[f.l4:f.hdrEnd] }
func (f *frame) payload() []byte { return f.data[f.hdrEnd:] }
func (f *frame) payloadLen() int { return len(f.data) - f.hdrEnd }

// networkOffset finds the network header for a link type, stepping over
// 802.1Q/802.1ad tags on Ethernet as skb_network_protocol does. It returns
// the offset and the ethertype (4 or 6 for raw IP link types, found from the
// version nibble), or a refusal.
func networkOffset(data []byte, lt layers.LinkType) (int, uint16, Reason) {
	var off int
	var etype uint16
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return 0, 0, ReasonMalformed
		}
		off, etype = 14, binary.BigEndian.Uint16(data[12:14])
	case layers.LinkTypeLinuxSLL:
		if len(data) < 16 {
			return 0, 0, ReasonMalformed
		}
		off, etype = 16, binary.BigEndian.Uint16(data[14:16])
	case layers.LinkTypeLinuxSLL2:
		if len(data) < 20 {
			return 0, 0, ReasonMalformed
		}
		off, etype = 20, binary.BigEndian.Uint16(data[0:2])
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, linkTypeRawBSD, linkTypeRawOpenBSD:
		if len(data) < 1 {
			return 0, 0, ReasonMalformed
		}
		switch data[0] >> 4 {
		case 4:
			return 0, etherTypeIPv4, ReasonNone
		case 6:
			return 0, etherTypeIPv6, ReasonNone
		}
		return 0, 0, ReasonNotIP
	default:
		return 0, 0, ReasonLinkType
	}
	for etype == etherType8021Q || etype == etherType8021AD || etype == etherTypeQinQ {
		if len(data) < off+4 {
			return 0, 0, ReasonMalformed
		}
		etype = binary.BigEndian.Uint16(data[off+2 : off+4])
		off += 4
	}
	if etype != etherTypeIPv4 && etype != etherTypeIPv6 {
		return 0, 0, ReasonNotIP
	}
	return off, etype, ReasonNone
}

// parse fills f from a captured frame and reports whether it could be part of
// a super-packet; wireLen is the length on the wire. It checks everything a
// single packet must satisfy (kernel-gso.md §6): complete frame, no padding,
// no fragments, correct checksums, TCP/UDP with payload, no SYN/RST/URG.
// The flow key is valid whenever the IP and L4 headers could be read, even if
// the packet is refused, so that it can close its flow's run.
func parse(f *frame, data []byte, wireLen int, lt layers.LinkType, key *flowKey) (reason Reason, keyed bool) {
	*f = frame{data: data}
	l3, etype, r := networkOffset(data, lt)
	if r != ReasonNone {
		return r, false
	}
	f.l3 = l3
	ip := data[l3:]
	var ipEnd int
	if etype == etherTypeIPv4 {
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return ReasonMalformed, false
		}
		ihl := int(ip[0]&0x0f) * 4
		tot := int(binary.BigEndian.Uint16(ip[2:4]))
		if ihl < 20 || len(ip) < ihl {
			return ReasonMalformed, false
		}
		f.proto = ip[9]
		f.l4 = l3 + ihl
		ipEnd = l3 + tot
		if tot < ihl {
			return ReasonIPLength, false
		}
		key.set4(ip)
	} else {
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return ReasonMalformed, false
		}
		f.v6 = true
		plen := int(binary.BigEndian.Uint16(ip[4:6]))
		if plen == 0 {
			return ReasonIPLength, false // jumbogram or BIG TCP
		}
		ipEnd = l3 + 40 + plen
		key.set6(ip)
		l4, proto, r := locate6(ip)
		if r != ReasonNone {
			return r, false
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
		if binary.BigEndian.Uint16(ip[10:12]) != ipv4HeaderChecksum(ip[:f.l4-l3]) {
			return ReasonIPv4Checksum, false
		}
		if ip[6]&0x3f != 0 || ip[7] != 0 { // MF or fragment offset
			return parseFragment(f, data, ipEnd, key)
		}
	} else if f.proto == 50 || f.proto == 51 { // ESP, AH
		return ReasonIPv6ExtHeader, false
	}
	l4 := data[f.l4:ipEnd]
	switch f.proto {
	case protoTCP:
		if len(l4) < 20 {
			return ReasonMalformed, false
		}
		doff := int(l4[12]>>4) * 4
		if doff < 20 || doff > len(l4) {
			return ReasonMalformed, false
		}
		f.hdrEnd = f.l4 + doff
	case protoUDP:
		if len(l4) < 8 {
			return ReasonMalformed, false
		}
		f.hdrEnd = f.l4 + 8
	default:
		return ReasonNotTCPUDP, false
	}
	key.ports = binary.BigEndian.Uint32(l4[0:4])
	keyed = true
	if ipEnd != len(data) {
		return ReasonPadding, true
	}
	if f.proto == protoUDP {
		if int(binary.BigEndian.Uint16(l4[4:6])) != len(l4) {
			return ReasonMalformed, true
		}
		stored := binary.BigEndian.Uint16(l4[6:8])
		if stored == 0 {
			return ReasonUDPZeroCsum, true
		}
		if stored != l4Checksum(data[f.l3:f.l4], f.v6, protoUDP, l4) {
			return ReasonL4Checksum, true
		}
	} else {
		// Exact comparison, not "sums to -0": a stored 0xFFFF where the
		// checksum is 0x0000 verifies, but GSO would write 0x0000.
		if binary.BigEndian.Uint16(l4[16:18]) != l4Checksum(data[f.l3:f.l4], f.v6, protoTCP, l4) {
			return ReasonL4Checksum, true
		}
		if l4[13]&(tcpSYN|tcpRST|tcpURG) != 0 {
			return ReasonTCPFlags, true
		}
	}
	if f.payloadLen() == 0 {
		return ReasonNoPayload, true
	}
	return ReasonNone, true
}

// parseFragment accepts an IPv4 fragment that may be part of a UFO train
// (kernel-gso.md §6 "IPv4 fragments"): UDP, DF and the reserved bit clear,
// nothing after the datagram, every fragment but the last a multiple of 8
// bytes, and a first fragment whose UDP header promises more than it holds
// and carries a checksum. Whether the train is whole and its checksum right
// is only known at its end. Fragments are keyed by addresses and IP ID.
func parseFragment(f *frame, data []byte, ipEnd int, key *flowKey) (Reason, bool) {
	ip := data[f.l3:]
	fo := binary.BigEndian.Uint16(ip[6:8])
	if f.proto != protoUDP || fo&0xc000 != 0 {
		return ReasonFragment, false
	}
	key.proto = protoUDP
	key.ports = uint32(binary.BigEndian.Uint16(ip[4:6]))
	key.frag = true
	f.more = fo&0x2000 != 0
	f.fragOff = int(fo&0x1fff) * 8
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
	if pl < 8 {
		return ReasonMalformed, true
	}
	uh := data[f.l4:]
	if int(binary.BigEndian.Uint16(uh[4:6])) <= pl {
		return ReasonMalformed, true
	}
	if binary.BigEndian.Uint16(uh[6:8]) == 0 {
		return ReasonUDPZeroCsum, true
	}
	f.frag, f.hdrEnd = fragFirst, f.l4+8
	return ReasonNone, true
}

// locate6 walks the IPv6 extension headers that GSO copies verbatim
// (hop-by-hop, routing, destination options) and returns the transport
// offset within ip and the protocol.
func locate6(ip []byte) (int, uint8, Reason) {
	nh, off := ip[6], 40
	for {
		switch nh {
		case 0, 43, 60:
			if len(ip) < off+8 {
				return 0, 0, ReasonMalformed
			}
			nh, off = ip[off], off+(int(ip[off+1])+1)*8
		case 44:
			return 0, 0, ReasonFragment
		default:
			return off, nh, ReasonNone
		}
	}
}

// flowKey identifies a flow: interface, addresses, protocol and ports, one
// direction. It is a comparable value so a map lookup allocates nothing.
type flowKey struct {
	iface int32
	v6    bool
	frag  bool // an IPv4 fragment train: ports holds the IP ID
	proto uint8
	ports uint32
	src   [16]byte
	dst   [16]byte
}

func (k *flowKey) set4(ip []byte) {
	k.v6 = false
	k.src = [16]byte{}
	k.dst = [16]byte{}
	copy(k.src[:], ip[12:16])
	copy(k.dst[:], ip[16:20])
}

func (k *flowKey) set6(ip []byte) {
	k.v6 = true
	copy(k.src[:], ip[8:24])
	copy(k.dst[:], ip[24:40])
}

// PacketInfo is what reports need to know about one packet.
type PacketInfo struct {
	IPVersion int   // 4, 6, or 0 when not IP (or not a supported link type)
	Proto     uint8 // IP protocol (after IPv6 extension headers)
	// Flow identifies the packet's flow (interface, addresses, protocol,
	// ports, one direction) when HasFlow.
	Flow    FlowID
	HasFlow bool
	// Reason is why the packet alone could not be part of a super-packet
	// (ReasonNone if it could).
	Reason Reason
}

// FlowID is a comparable flow identity, usable as a map key.
type FlowID = flowKey

// Describe classifies a packet as the coalescer sees it.
func Describe(data []byte, wireLen int, lt layers.LinkType, iface int) PacketInfo {
	var f frame
	key := flowKey{iface: int32(iface)}
	reason, keyed := parse(&f, data, wireLen, lt, &key)
	// A fragment train is one datagram, not a flow.
	info := PacketInfo{Flow: key, HasFlow: keyed && !key.frag, Reason: reason, Proto: f.proto}
	if f.l4 > 0 || keyed || f.v6 {
		info.IPVersion = 4
		if f.v6 {
			info.IPVersion = 6
		}
	}
	return info
}

// Reverse is the flow of the other direction.
func (k flowKey) Reverse() flowKey {
	k.src, k.dst = k.dst, k.src
	k.ports = k.ports<<16 | k.ports>>16
	return k
}

// FlowOf reads a frame's flow identity without validating lengths or
// checksums, for grouping frames that may be damaged. Frames that are not
// TCP or UDP over IP, and fragments, get ok false and the zero FlowID.
func FlowOf(frame []byte, lt layers.LinkType, iface int) (k FlowID, ok bool) {
	l3, etype, r := networkOffset(frame, lt)
	if r != ReasonNone {
		return k, false
	}
	ip := frame[l3:]
	k.iface = int32(iface)
	var l4 int
	if etype == etherTypeIPv4 {
		if len(ip) < 20 || ip[6]&0x3f != 0 || ip[7] != 0 {
			return FlowID{}, false
		}
		k.set4(ip)
		k.proto, l4 = ip[9], int(ip[0]&0x0f)*4
	} else {
		if len(ip) < 40 {
			return FlowID{}, false
		}
		off, proto, r := locate6(ip)
		if r != ReasonNone {
			return FlowID{}, false
		}
		k.set6(ip)
		k.proto, l4 = proto, off
	}
	if (k.proto != protoTCP && k.proto != protoUDP) || len(ip) < l4+4 {
		return FlowID{}, false
	}
	k.ports = binary.BigEndian.Uint32(ip[l4:])
	return k, true
}
