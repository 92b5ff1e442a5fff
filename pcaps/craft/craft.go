// Package craft builds Ethernet (or Linux cooked, or raw IP) frames carrying
// TCP or UDP over IPv4 or IPv6 with correct lengths and checksums, from a
// description that is changed field by field: VLAN and QinQ tags, IPv4
// options, IPv6 extension headers and flow labels, TCP options and flags,
// fragments, and damage on purpose (bad checksums, padding, truncation).
// Fixtures are the captures the integration tests verify.
//
// It is production code — the conformance probe builds its cases with it,
// and bench/tool its inputs — and it depends on none of gsoreplay's header
// views, merge rules or segmenter on purpose, down to its own checksum code
// (IPv4Checksum, L4Checksum, PseudoSeed): the frames it builds are an
// independent check of what those do.
package craft

import (
	"encoding/binary"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Protocol numbers and TCP flags.
const (
	TCP = 6
	UDP = 17

	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
	URG = 0x20
	ECE = 0x40
	CWR = 0x80
)

// TPIDs of VLAN tags.
const (
	TPID8021Q  = 0x8100
	TPID8021AD = 0x88a8
)

// TSOpt is NOP NOP Timestamps, the options of a Linux bulk TCP segment.
var TSOpt = []byte{1, 1, 8, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0}

// Frame describes one frame. Bytes builds it.
type Frame struct {
	LinkType  layers.LinkType // Ethernet (default), Linux SLL or raw IP
	VLANs     []uint16        // TPIDs of tags, outermost first (VID = VLANID+i, default 100)
	VLANID    uint16
	V6        bool
	TOS, TTL  uint8
	DF        bool
	ID        uint16
	FlowLabel uint32
	IPOpts    []byte // IPv4 options (a multiple of 4)
	Ext       []byte // IPv6 destination options body (a multiple of 8; the first 2 bytes are set)
	Proto     uint8
	Sport     uint16
	Dport     uint16
	Seq, Ack  uint32
	Flags     uint8
	Win       uint16
	Urg       uint16
	TCPOpts   []byte
	Payload   []byte
	Timestamp time.Time
	// Changes made after building.
	Padding  int  // bytes appended after the IP datagram
	BadL4    bool // corrupt the L4 checksum
	BadIP    bool // corrupt the IPv4 header checksum
	ZeroUDP  bool // UDP checksum 0
	Truncate int  // bytes cut off the capture (the wire length stays)
	Fragment bool // IPv4 MF set / IPv6 fragment header
	Reserved uint8
	Swap     bool   // swap the IP addresses: the other direction
	Raw      []byte // use this frame as it is
	// Tunnel, if its Kind is set, wraps the frame built (always Ethernet)
	// in a UDP tunnel.
	Tunnel Tunnel
}

// Tunnel kinds.
const (
	NoTunnel = iota
	VXLAN
	Geneve
)

// Tunnel describes the outer headers of a UDP tunnel packet: Ethernet, IP
// (10.9.0.1 to 10.9.0.2, or fd09::1 to fd09::2), UDP to port 4789 (VXLAN)
// or 6081 (GENEVE), then the VXLAN or GENEVE header before the inner
// Ethernet frame.
type Tunnel struct {
	Kind     int
	V6       bool   // outer IPv6
	ID       uint16 // outer IPv4 ID (Flow advances it)
	TTL      uint8
	DF       bool
	Sport    uint16
	VNI      uint32
	ZeroCsum bool   // outer UDP checksum 0
	Options  []byte // GENEVE options (a multiple of 4 bytes)
}

// VXLANTunnel is a VXLAN tunnel over IPv4 as Linux's vxlan device sends it:
// outer checksum 0, DF clear.
func VXLANTunnel() Tunnel {
	return Tunnel{Kind: VXLAN, ID: 0x2000, TTL: 64, Sport: 51234, VNI: 42, ZeroCsum: true}
}

// TCPBulk is a full-size segment of a Linux bulk TCP transfer over IPv4.
func TCPBulk() Frame {
	return Frame{LinkType: layers.LinkTypeEthernet, TTL: 64, DF: true, ID: 0x1000, Proto: TCP, Sport: 40000, Dport: 5201,
		Seq: 1000, Ack: 5000, Flags: ACK, Win: 502, TCPOpts: TSOpt, Payload: Payload(1448, 0),
		Timestamp: time.Unix(1700000000, 0)}
}

// TCPBulk6 is TCPBulk over IPv6: 1428 bytes of payload fill a 1500-byte
// MTU behind the longer IP header.
func TCPBulk6() Frame {
	p := TCPBulk()
	p.V6, p.Payload = true, Payload(1428, 0)
	return p
}

// UDPBulk is a 1000-byte UDP datagram over IPv4.
func UDPBulk() Frame {
	p := TCPBulk()
	p.Proto, p.TCPOpts, p.Payload = UDP, nil, Payload(1000, 0)
	return p
}

// Payload is n bytes of a pattern that differs with seed.
func Payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

func etherType(v6 bool) uint16 {
	if v6 {
		return 0x86dd
	}
	return 0x0800
}

// link is the frame's link-layer header.
func (p Frame) link() []byte {
	var b []byte
	switch p.LinkType {
	case layers.LinkTypeRaw:
	case layers.LinkTypeLinuxSLL:
		b = append(b, 0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0)
		b = binary.BigEndian.AppendUint16(b, etherType(p.V6))
	default:
		b = append(b, 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1)
		for i, tpid := range p.VLANs {
			b = binary.BigEndian.AppendUint16(b, tpid)
			b = binary.BigEndian.AppendUint16(b, max(p.VLANID, 100)+uint16(i))
		}
		b = binary.BigEndian.AppendUint16(b, etherType(p.V6))
	}
	return b
}

// Bytes builds the frame.
func (p Frame) Bytes() []byte {
	if p.Raw != nil {
		return p.Raw
	}
	if p.Tunnel.Kind != NoTunnel {
		return p.encapsulate()
	}
	b := p.link()
	var l4 []byte
	if p.Proto == TCP {
		doff := 20 + len(p.TCPOpts)
		l4 = make([]byte, doff)
		binary.BigEndian.PutUint16(l4[0:], p.Sport)
		binary.BigEndian.PutUint16(l4[2:], p.Dport)
		binary.BigEndian.PutUint32(l4[4:], p.Seq)
		binary.BigEndian.PutUint32(l4[8:], p.Ack)
		l4[12] = byte(doff/4)<<4 | p.Reserved
		l4[13] = p.Flags
		binary.BigEndian.PutUint16(l4[14:], p.Win)
		binary.BigEndian.PutUint16(l4[18:], p.Urg)
		copy(l4[20:], p.TCPOpts)
	} else {
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4[0:], p.Sport)
		binary.BigEndian.PutUint16(l4[2:], p.Dport)
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(p.Payload)))
	}
	l4 = append(l4, p.Payload...)
	var ip []byte
	if !p.V6 {
		ihl := 20 + len(p.IPOpts)
		ip = make([]byte, ihl)
		ip[0] = 0x40 | byte(ihl/4)
		ip[1] = p.TOS
		binary.BigEndian.PutUint16(ip[2:], uint16(ihl+len(l4)))
		binary.BigEndian.PutUint16(ip[4:], p.ID)
		if p.DF {
			ip[6] = 0x40
		}
		if p.Fragment {
			ip[6] |= 0x20
		}
		ip[8] = p.TTL
		ip[9] = p.Proto
		copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
		if p.Swap {
			copy(ip[12:], []byte{10, 0, 0, 2, 10, 0, 0, 1})
		}
		copy(ip[20:], p.IPOpts)
		binary.BigEndian.PutUint16(ip[10:], ^sum(0, ip))
		if p.BadIP {
			ip[10] ^= 0xff
		}
	} else {
		ip = make([]byte, 40)
		binary.BigEndian.PutUint32(ip[0:], 6<<28|uint32(p.TOS)<<20|p.FlowLabel&0xfffff)
		ip[6] = p.Proto
		ip[7] = p.TTL
		ip[8], ip[23] = 0xfd, 1
		ip[24], ip[39] = 0xfd, 2
		if p.Swap {
			ip[23], ip[39] = 2, 1
		}
		if p.Ext != nil {
			ext := append([]byte(nil), p.Ext...)
			ext[0], ext[1] = p.Proto, byte(len(ext)/8-1)
			ip[6] = 60
			ip = append(ip, ext...)
		}
		if p.Fragment {
			frag := []byte{ip[6], 0, 0, 1, 0, 0, 0, 7}
			ip[6] = 44
			ip = append(ip, frag...)
		}
		binary.BigEndian.PutUint16(ip[4:], uint16(len(ip)-40+len(l4)))
	}
	off := 16
	if p.Proto == UDP {
		off = 6
	}
	if p.Proto == TCP || !p.ZeroUDP {
		binary.BigEndian.PutUint16(l4[off:], L4Checksum(ip, p.V6, p.Proto, l4))
	}
	if p.BadL4 {
		l4[off] ^= 0x5a
	}
	b = append(b, ip...)
	b = append(b, l4...)
	return append(b, make([]byte, p.Padding)...)
}

// encapsulate builds p inside its tunnel.
func (p Frame) encapsulate() []byte {
	t := p.Tunnel
	inner := p
	inner.Tunnel, inner.LinkType = Tunnel{}, layers.LinkTypeEthernet
	var hdr []byte
	dport := uint16(4789)
	if t.Kind == Geneve {
		dport = 6081
		hdr = []byte{byte(len(t.Options) / 4), 0, 0x65, 0x58}
		hdr = binary.BigEndian.AppendUint32(hdr, t.VNI<<8)
		hdr = append(hdr, t.Options...)
	} else {
		hdr = []byte{0x08, 0, 0, 0}
		hdr = binary.BigEndian.AppendUint32(hdr, t.VNI<<8)
	}
	outer := Frame{LinkType: layers.LinkTypeEthernet, V6: t.V6, TTL: t.TTL, DF: t.DF, ID: t.ID, Proto: UDP,
		Sport: t.Sport, Dport: dport, Payload: append(hdr, inner.Bytes()...), ZeroUDP: t.ZeroCsum}
	b := outer.Bytes()
	// The outer addresses: the tunnel's endpoints, not the inner hosts.
	l3 := 14
	if t.V6 {
		b[l3+8], b[l3+23], b[l3+24], b[l3+39] = 0xfd, 1, 0xfd, 2
		b[l3+9], b[l3+25] = 9, 9
	} else {
		b[l3+13], b[l3+17] = 9, 9
		binary.BigEndian.PutUint16(b[l3+10:], 0)
		binary.BigEndian.PutUint16(b[l3+10:], ^sum(0, b[l3:l3+20]))
	}
	ihl := 20
	if t.V6 {
		ihl = 40
	}
	if !t.ZeroCsum {
		l4 := b[l3+ihl:]
		binary.BigEndian.PutUint16(l4[6:], 0)
		binary.BigEndian.PutUint16(l4[6:], L4Checksum(b[l3:l3+ihl], t.V6, UDP, l4))
	}
	return b
}

// Packet builds the frame as a captured packet.
func (p Frame) Packet() pcaps.Packet {
	b := p.Bytes()
	lt := p.LinkType
	if lt == 0 {
		lt = layers.LinkTypeEthernet
	}
	pp := pcaps.Packet{Data: b, Timestamp: p.Timestamp, Length: len(b), LinkType: lt}
	if p.Truncate > 0 {
		pp.Data = b[:len(b)-p.Truncate]
	}
	return pp
}

// Flow is n consecutive segments of one flow from base: seq (TCP) and the
// IPv4 ID advance, timestamps are 10 µs apart, each payload has its own
// pattern; mut, if not nil, may change segment k.
func Flow(base Frame, n int, mut func(k int, p *Frame)) []Frame {
	out := make([]Frame, n)
	seq, id := base.Seq, base.ID
	for k := range n {
		p := base
		p.Seq, p.ID = seq, id
		p.Timestamp = base.Timestamp.Add(time.Duration(k) * 10 * time.Microsecond)
		p.Payload = Payload(len(base.Payload), byte(k))
		p.Tunnel.ID = base.Tunnel.ID + uint16(k)
		if mut != nil {
			mut(k, &p)
		}
		out[k] = p
		seq += uint32(len(p.Payload))
		id++
	}
	return out
}

// Fragments builds p, an IPv4 datagram, and cuts its IP payload into
// fragments the way ip_fragment does: the link and IP headers repeated, the
// same ID, MF on all but the last, DF as p says. Fragment k carries
// sizes[k] bytes (the last size repeats; the last fragment takes what is
// left); mut, if not nil, may change fragment k's IP header before its
// checksum is computed. Timestamps are 10 µs apart.
func Fragments(p Frame, mut func(k int, ip []byte), sizes ...int) []pcaps.Packet {
	whole := p
	whole.Fragment, whole.Padding, whole.Truncate = false, 0, 0
	b := whole.Bytes()
	l3 := len(p.link())
	l4 := l3 + 20 + len(p.IPOpts)
	data := b[l4:]
	var out []pcaps.Packet
	for k, off := 0, 0; off < len(data); k++ {
		n := min(sizes[min(k, len(sizes)-1)], len(data)-off)
		f := append(append([]byte(nil), b[:l4]...), data[off:off+n]...)
		ip := f[l3:l4]
		binary.BigEndian.PutUint16(ip[2:], uint16(len(f)-l3))
		fo := uint16(off / 8)
		if p.DF {
			fo |= 0x4000
		}
		if off+n < len(data) {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[6:], fo)
		if mut != nil {
			mut(k, ip)
		}
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], ^sum(0, ip))
		lt := p.LinkType
		if lt == 0 {
			lt = layers.LinkTypeEthernet
		}
		ts := p.Timestamp.Add(time.Duration(k) * 10 * time.Microsecond)
		out = append(out, pcaps.Packet{Data: f, Timestamp: ts, Length: len(f), LinkType: lt})
		off += n
	}
	return out
}

// Packets builds every frame of the groups, in order.
func Packets(groups ...[]Frame) []pcaps.Packet {
	var out []pcaps.Packet
	for _, g := range groups {
		for _, p := range g {
			out = append(out, p.Packet())
		}
	}
	return out
}

// sum is the ones' complement sum of b added to s, folded.
func sum(s uint32, b []byte) uint16 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// L4Checksum is the TCP or UDP checksum of l4 (its checksum field zero or
// not: it is skipped) under the IP header ip, whose addresses it takes.
func L4Checksum(ip []byte, v6 bool, proto uint8, l4 []byte) uint16 {
	var s uint32
	if v6 {
		s = uint32(sum(0, ip[8:40]))
	} else {
		s = uint32(sum(0, ip[12:20]))
	}
	s += uint32(proto) + uint32(len(l4))
	off := 16
	if proto == UDP {
		off = 6
	}
	s += uint32(sum(0, l4[:off]))
	s += uint32(sum(0, l4[off+2:])) // a 16-bit-aligned split, so the sums add
	c := ^sum(s, nil)
	if proto == UDP && c == 0 {
		c = 0xffff
	}
	return c
}

// IPv4Checksum is the header checksum an IPv4 header ip (options included,
// its checksum field zero or not: it is skipped) must carry.
func IPv4Checksum(ip []byte) uint16 {
	s := uint32(sum(0, ip[:10]))
	s += uint32(sum(0, ip[12:]))
	return ^sum(s, nil)
}

// PseudoSeed is the folded, uncomplemented sum of the TCP/UDP pseudo-header
// for length bytes of transport header and payload: what the checksum
// field of a super-packet holds for NEEDS_CSUM.
func PseudoSeed(ip []byte, v6 bool, proto uint8, length int) uint16 {
	var s uint32
	if v6 {
		s = uint32(sum(0, ip[8:40]))
	} else {
		s = uint32(sum(0, ip[12:20]))
	}
	return sum(s+uint32(proto)+uint32(length>>16)+uint32(length&0xffff), nil)
}
