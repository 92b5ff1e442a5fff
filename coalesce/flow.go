package coalesce

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Flow identifies a flow: interface, addresses, protocol and ports, one
// direction. It is a comparable value, so a map lookup allocates nothing.
// An IPv4 fragment train is a flow of its own, keyed by the IP ID.
type Flow struct {
	iface int32
	// outer is a hash of a tunnelled packet's outer headers (0 for a
	// packet that is not seen through its tunnel).
	outer uint64
	v6    bool
	frag  bool // an IPv4 fragment train: ports holds the IP ID
	proto uint8
	ports uint32
	src   [16]byte
	dst   [16]byte
}

func (k *Flow) set4(ip header.IPv4) {
	k.v6 = false
	k.src = [16]byte{}
	k.dst = [16]byte{}
	copy(k.src[:], ip.Source())
	copy(k.dst[:], ip.Destination())
}

func (k *Flow) set6(ip header.IPv6) {
	k.v6 = true
	copy(k.src[:], ip.Source())
	copy(k.dst[:], ip.Destination())
}

// Reverse is the flow of the other direction.
func (k Flow) Reverse() Flow {
	k.src, k.dst = k.dst, k.src
	k.ports = k.ports<<16 | k.ports>>16
	return k
}

// Symmetric is a hash of the flow that both directions share: the same for
// k and k.Reverse(). Pipelines that split a capture by connection use it.
// It is stable across runs and builds, and cheap: it runs on every packet
// of a sharded replay.
func (k Flow) Symmetric() uint64 {
	le := binary.LittleEndian
	a0, a1 := le.Uint64(k.src[:8]), le.Uint64(k.src[8:])
	b0, b1 := le.Uint64(k.dst[:8]), le.Uint64(k.dst[8:])
	pa, pb := uint64(k.ports>>16), uint64(k.ports&0xffff)
	if a0 > b0 || a0 == b0 && (a1 > b1 || a1 == b1 && pa > pb) {
		a0, a1, b0, b1, pa, pb = b0, b1, a0, a1, pb, pa
	}
	h := uint64(k.proto) | uint64(uint32(k.iface))<<8 | pa<<32 | pb<<48
	for _, v := range [...]uint64{a0, a1, b0, b1} {
		h = mix64(h ^ v)
	}
	return mix64(h)
}

// hashBytes mixes b into h, eight bytes at a time.
func hashBytes(h uint64, b []byte) uint64 {
	for len(b) >= 8 {
		h = mix64(h ^ binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	var last [8]byte
	copy(last[:], b)
	return mix64(h ^ binary.LittleEndian.Uint64(last[:]) ^ uint64(len(b))<<56)
}

// mix64 is splitmix64's finalizer: every input bit moves every output bit,
// so that h % n spreads flows for any n.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// Interface is the capture interface's index.
func (k Flow) Interface() int { return int(k.iface) }

// Proto is the IP protocol (6 TCP, 17 UDP).
func (k Flow) Proto() uint8 { return k.proto }

// Source is the source address and port.
func (k Flow) Source() netip.AddrPort { return netip.AddrPortFrom(k.addr(k.src), uint16(k.ports>>16)) }

// Destination is the destination address and port.
func (k Flow) Destination() netip.AddrPort { return netip.AddrPortFrom(k.addr(k.dst), uint16(k.ports)) }

func (k Flow) addr(a [16]byte) netip.Addr {
	if k.v6 {
		return netip.AddrFrom16(a)
	}
	return netip.AddrFrom4([4]byte(a[:4]))
}

// String is "tcp 10.0.0.1:40000 > 10.0.0.2:5201" (an IPv4 fragment train:
// "udp fragments 10.0.0.1 > 10.0.0.2 id 4096").
func (k Flow) String() string {
	proto := map[uint8]string{header.ProtoTCP: "tcp", header.ProtoUDP: "udp"}[k.proto]
	if proto == "" {
		proto = fmt.Sprintf("proto %d", k.proto)
	}
	if k.frag {
		return fmt.Sprintf("%s fragments %s > %s id %d", proto, k.addr(k.src), k.addr(k.dst), k.ports)
	}
	return fmt.Sprintf("%s %s > %s", proto, k.Source(), k.Destination())
}

// FlowOf reads a frame's flow without validating lengths or checksums, for
// grouping frames that may be damaged. Frames that are not TCP or UDP over
// IP, and fragments, get ok false and the zero Flow.
func FlowOf(frame []byte, lt layers.LinkType, iface int) (k Flow, ok bool) {
	k.iface = int32(iface)
	_, l4, ok := locate(frame, lt, &k)
	if !ok || (k.proto != header.ProtoTCP && k.proto != header.ProtoUDP) || len(frame) < l4+4 {
		return Flow{}, false
	}
	k.ports = header.TCP(frame[l4:]).Ports() // UDP's ports lie at the same place
	return k, true
}

// locate finds the transport header of an IP frame, trusting no length
// field and checking no version nibble: the network and transport offsets,
// the protocol and addresses into k. Fragments, non-IP frames, headers
// cut short and IPv4 header lengths below 20 give false.
func locate(frame []byte, lt layers.LinkType, k *Flow) (l3, l4 int, ok bool) {
	l3, etype, st := header.Network(frame, lt)
	if st != header.LinkOK {
		return 0, 0, false
	}
	if etype == header.EtherTypeIPv4 {
		ip := header.IPv4(frame[l3:])
		if len(ip) < header.IPv4MinimumSize || ip.HeaderLength() < header.IPv4MinimumSize || ip.IsFragment() {
			return 0, 0, false
		}
		k.set4(ip)
		k.proto = ip.Protocol()
		return l3, l3 + ip.HeaderLength(), true
	}
	ip := header.IPv6(frame[l3:])
	if len(ip) < header.IPv6MinimumSize {
		return 0, 0, false
	}
	off, proto, est := ip.Transport()
	if est != header.ExtOK {
		return 0, 0, false
	}
	k.set6(ip)
	k.proto = proto
	return l3, l3 + off, true
}
