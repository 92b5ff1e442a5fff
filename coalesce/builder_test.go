package coalesce

import (
	"encoding/binary"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// pkt describes a test frame; bytes() builds it with correct lengths and
// checksums. Tests change fields through mutate closures.
type pkt struct {
	lt        layers.LinkType
	vlans     []uint16 // TPIDs of tags, outermost first (TCI = vlanID+i, default 100)
	vlanID    uint16
	v6        bool
	tos, ttl  uint8
	df        bool
	id        uint16
	flowLabel uint32
	ipOpts    []byte // IPv4 options (multiple of 4)
	ext       []byte // IPv6 destination options header body (multiple of 8, first 2 bytes overwritten)
	proto     uint8
	sport     uint16
	dport     uint16
	seq, ack  uint32
	flags     uint8
	win       uint16
	urg       uint16
	tcpOpts   []byte
	payload   []byte
	ts        time.Time
	// post-processing of the built frame
	padding  int  // bytes appended after the IP datagram
	badL4    bool // corrupt the L4 checksum
	badIP    bool // corrupt the IPv4 header checksum
	zeroUDP  bool // UDP checksum 0
	truncate int  // bytes cut off the capture (wire length stays)
	fragment bool // IPv4 MF set / IPv6 fragment header
	reserved uint8
	rawFrame []byte // use this frame as is
}

var tsOpt = []byte{1, 1, 8, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0} // NOP NOP TS

func tcpPkt() pkt {
	return pkt{lt: layers.LinkTypeEthernet, ttl: 64, df: true, id: 0x1000, proto: protoTCP, sport: 40000, dport: 5201,
		seq: 1000, ack: 5000, flags: tcpACK, win: 502, tcpOpts: tsOpt, payload: payloadOf(1448, 0),
		ts: time.Unix(1700000000, 0)}
}

func udpPkt() pkt {
	p := tcpPkt()
	p.proto, p.tcpOpts, p.payload = protoUDP, nil, payloadOf(1000, 0)
	return p
}

func payloadOf(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

func (p pkt) bytes() []byte {
	if p.rawFrame != nil {
		return p.rawFrame
	}
	var b []byte
	switch p.lt {
	case layers.LinkTypeEthernet:
		b = append(b, 0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1)
		for i, tpid := range p.vlans {
			b = binary.BigEndian.AppendUint16(b, tpid)
			b = binary.BigEndian.AppendUint16(b, max(p.vlanID, 100)+uint16(i))
		}
		b = binary.BigEndian.AppendUint16(b, map[bool]uint16{false: etherTypeIPv4, true: etherTypeIPv6}[p.v6])
	case layers.LinkTypeLinuxSLL:
		b = append(b, 0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0)
		b = binary.BigEndian.AppendUint16(b, map[bool]uint16{false: etherTypeIPv4, true: etherTypeIPv6}[p.v6])
	}
	l3 := len(b)
	var l4 []byte
	if p.proto == protoTCP {
		doff := 20 + len(p.tcpOpts)
		l4 = make([]byte, doff)
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
		binary.BigEndian.PutUint32(l4[4:], p.seq)
		binary.BigEndian.PutUint32(l4[8:], p.ack)
		l4[12] = byte(doff/4)<<4 | p.reserved
		l4[13] = p.flags
		binary.BigEndian.PutUint16(l4[14:], p.win)
		binary.BigEndian.PutUint16(l4[18:], p.urg)
		copy(l4[20:], p.tcpOpts)
	} else {
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(p.payload)))
	}
	l4 = append(l4, p.payload...)
	var ip []byte
	if !p.v6 {
		ihl := 20 + len(p.ipOpts)
		ip = make([]byte, ihl)
		ip[0] = 0x40 | byte(ihl/4)
		ip[1] = p.tos
		binary.BigEndian.PutUint16(ip[2:], uint16(ihl+len(l4)))
		binary.BigEndian.PutUint16(ip[4:], p.id)
		if p.df {
			ip[6] = 0x40
		}
		if p.fragment {
			ip[6] |= 0x20
		}
		ip[8] = p.ttl
		ip[9] = p.proto
		copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
		copy(ip[20:], p.ipOpts)
		binary.BigEndian.PutUint16(ip[10:], ipv4HeaderChecksum(ip))
		if p.badIP {
			ip[10] ^= 0xff
		}
	} else {
		ip = make([]byte, 40)
		binary.BigEndian.PutUint32(ip[0:], 6<<28|uint32(p.tos)<<20|p.flowLabel&0xfffff)
		ip[6] = p.proto
		ip[7] = p.ttl
		ip[8], ip[23] = 0xfd, 1
		ip[24], ip[39] = 0xfd, 2
		if p.ext != nil {
			ext := append([]byte(nil), p.ext...)
			ext[0], ext[1] = p.proto, byte(len(ext)/8-1)
			ip[6] = 60
			ip = append(ip, ext...)
		}
		if p.fragment {
			frag := []byte{ip[6], 0, 0, 1, 0, 0, 0, 7}
			ip[6] = 44
			ip = append(ip, frag...)
		}
		binary.BigEndian.PutUint16(ip[4:], uint16(len(ip)-40+len(l4)))
	}
	off := 16
	if p.proto == protoUDP {
		off = 6
	}
	if p.proto == protoTCP || !p.zeroUDP {
		binary.BigEndian.PutUint16(l4[off:], l4Checksum(ip, p.v6, p.proto, l4))
	}
	if p.badL4 {
		l4[off] ^= 0x5a
	}
	b = append(b, ip...)
	b = append(b, l4...)
	_ = l3
	b = append(b, make([]byte, p.padding)...)
	return b
}

func (p pkt) packet() pcaps.Packet {
	b := p.bytes()
	lt := p.lt
	if lt == 0 {
		lt = layers.LinkTypeEthernet
	}
	pp := pcaps.Packet{Data: b, Timestamp: p.ts, Length: len(b), LinkType: lt}
	if p.truncate > 0 {
		pp.Data = b[:len(b)-p.truncate]
	}
	return pp
}

// flow builds n consecutive segments of one flow from base: seq and IPv4 ID
// advance, timestamps 10 µs apart; mut may change packet k.
func flow(base pkt, n int, mut func(k int, p *pkt)) []pkt {
	out := make([]pkt, n)
	seq, id := base.seq, base.id
	for k := range n {
		p := base
		p.seq, p.id = seq, id
		p.ts = base.ts.Add(time.Duration(k) * 10 * time.Microsecond)
		p.payload = payloadOf(len(base.payload), byte(k))
		if mut != nil {
			mut(k, &p)
		}
		out[k] = p
		seq += uint32(len(p.payload))
		id++
	}
	return out
}
