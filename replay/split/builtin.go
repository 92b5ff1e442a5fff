package split

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// network finds a packet's IP header as tcpprep does: past VLAN tags and,
// on Ethernet, MPLS labels too.
func network(p *pcaps.Packet) (int, header.EtherType, bool) {
	off, et, st := header.Network(p.Data, p.LinkType)
	if st == header.LinkOK {
		return off, et, true
	}
	if st != header.LinkNotIP || p.LinkType != layers.LinkTypeEthernet {
		return 0, 0, false
	}
	off, t, ok := header.Ethernet(p.Data).Tags(nil)
	if !ok || t != 0x8847 && t != 0x8848 {
		return 0, 0, false
	}
	for ; off+4 <= len(p.Data); off += 4 {
		if p.Data[off+2]&1 == 0 {
			continue
		}
		off += 4 // past the bottom of the stack
		if off >= len(p.Data) {
			return 0, 0, false
		}
		if et := header.EtherTypeOfIP(p.Data[off]); et != 0 {
			return off, et, true
		}
		if p.Data[off]>>4 != 0 || off+4 > len(p.Data) {
			return 0, 0, false
		}
		// An Ethernet pseudowire: a control word, then a frame.
		inner := p.Data[off+4:]
		in, t, ok := header.Ethernet(inner).Tags(nil)
		if !ok || t != header.EtherTypeIPv4 && t != header.EtherTypeIPv6 {
			return 0, 0, false
		}
		return off + 4 + in, t, true
	}
	return 0, 0, false
}

// source is the packet's IP source address (false for other frames).
func source(p *pcaps.Packet) (netip.Addr, bool) {
	off, et, ok := network(p)
	if !ok {
		return netip.Addr{}, false
	}
	b := p.Data[off:]
	switch et {
	case header.EtherTypeIPv4:
		if ip := header.IPv4(b); ip.IsValid() {
			a, _ := netip.AddrFromSlice(ip.Source())
			return a, true
		}
	case header.EtherTypeIPv6:
		if ip := header.IPv6(b); ip.IsValid() {
			a, _ := netip.AddrFromSlice(ip.Source())
			return a, true
		}
	}
	return netip.Addr{}, false
}

// CIDR puts packets whose source is in one of the networks on the primary
// side and the others on the secondary, as tcpprep --cidr does (its code;
// its manual says the reverse); frames that are not IP go out secondary,
// as tcpprep 4.4 and 4.6 send them (their manual says the reverse too).
type CIDR []netip.Prefix

// ParseCIDR reads "NET,NET,...".
func ParseCIDR(s string) (CIDR, error) {
	var out CIDR
	for _, f := range strings.Split(s, ",") {
		p, err := netip.ParsePrefix(strings.Trim(f, "[]"))
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR block (like 10.0.0.0/8)", f)
		}
		out = append(out, p)
	}
	return out, nil
}

// Side implements Splitter.
func (c CIDR) Side(p *pcaps.Packet, _ int64) (Side, bool) {
	a, ok := source(p)
	if !ok {
		return Secondary, true
	}
	for _, n := range c {
		if n.Contains(a) {
			return Primary, true
		}
	}
	return Secondary, true
}

// Hosts classifies hosts as tcpprep's auto modes do: every packet is a
// vote on its source host — a TCP SYN alone for a client, SYN+ACK for a
// server, a DNS query or answer, an ICMP port unreachable for a server —
// and a host is a server when its server votes reach twice its client
// votes (tcpprep's --ratio 2), else a client. Packets from clients go out
// primary, from servers secondary; a host with no vote is a client
// (tcpprep --auto=client) or a server (--auto=server); frames that are not
// IP go out secondary, as tcpprep sends them. Unlike tcpprep 4.4 and 4.6,
// whose host tree takes every IPv6 host for one, it classifies each IPv6
// host on its own.
type Hosts struct {
	votes   map[netip.Addr]*[2]int // [client, server] votes
	unknown Side
	// Clients and Servers count the hosts classified.
	Clients, Servers int
}

// maxHosts bounds the hosts Learn remembers: past it a hostile capture's
// new hosts go unclassified.
const maxHosts = 1 << 22

// Learn reads a capture to its end to classify its hosts; unknown is the
// side of hosts without a vote.
func Learn(r *pcaps.Reader, unknown Side) (*Hosts, error) {
	h := &Hosts{votes: map[netip.Addr]*[2]int{}, unknown: unknown}
	var p pcaps.Packet
	for {
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		h.vote(&p)
	}
	for _, v := range h.votes {
		if h.role(v) == Primary {
			h.Clients++
		} else {
			h.Servers++
		}
	}
	return h, nil
}

const (
	voteClient = 0
	voteServer = 1
)

// vote counts one packet's vote on its source (tcpprep's packet2tree).
func (h *Hosts) vote(p *pcaps.Packet) {
	src, proto, l4, ok := transport(p)
	if !ok {
		return
	}
	v := -1
	switch {
	case proto == header.ProtoTCP && len(l4) >= header.TCPMinimumSize:
		t := header.TCP(l4)
		if t.SourcePort() == 20 {
			return // ftp-data would skew the votes
		}
		switch t.Flags() {
		case header.TCPFlagSYN:
			v = voteClient
		case header.TCPFlagSYN | header.TCPFlagACK:
			v = voteServer
		}
	case proto == header.ProtoUDP && len(l4) >= header.UDPSize+4:
		u := header.UDP(l4)
		if u.DestinationPort() == 53 || u.SourcePort() == 53 {
			v = voteClient
			if l4[header.UDPSize+2]&0x80 != 0 { // QR: an answer
				v = voteServer
			}
		}
	case proto == 1 && len(l4) >= 2: // ICMP
		if l4[0] == 3 && l4[1] == 3 { // port unreachable
			v = voteServer
		}
	}
	c, found := h.votes[src]
	if !found {
		if len(h.votes) >= maxHosts {
			return
		}
		c = new([2]int)
		h.votes[src] = c
	}
	if v >= 0 {
		c[v]++
	}
}

// role is a host's side by its votes (tcpprep's tree_calculate).
func (h *Hosts) role(v *[2]int) Side {
	switch {
	case v[voteClient] == 0 && v[voteServer] == 0:
		return h.unknown
	case float64(v[voteServer]) >= float64(v[voteClient])*2:
		return Secondary
	}
	return Primary
}

// transport is a packet's IP source, transport protocol and header.
func transport(p *pcaps.Packet) (netip.Addr, uint8, []byte, bool) {
	off, et, ok := network(p)
	if !ok {
		return netip.Addr{}, 0, nil, false
	}
	b := p.Data[off:]
	switch et {
	case header.EtherTypeIPv4:
		ip := header.IPv4(b)
		if !ip.IsValid() || ip.HeaderLength() > len(b) {
			return netip.Addr{}, 0, nil, false
		}
		a, _ := netip.AddrFromSlice(ip.Source())
		if ip.IsFragment() && ip.FragmentOffset() != 0 {
			return a, ip.Protocol(), nil, true
		}
		return a, ip.Protocol(), b[ip.HeaderLength():], true
	case header.EtherTypeIPv6:
		ip := header.IPv6(b)
		if !ip.IsValid() {
			return netip.Addr{}, 0, nil, false
		}
		a, _ := netip.AddrFromSlice(ip.Source())
		at, proto, st := ip.Transport()
		if st != header.ExtOK || at > len(b) {
			return a, 0, nil, true
		}
		return a, proto, b[at:], true
	}
	return netip.Addr{}, 0, nil, false
}

// Side implements Splitter.
func (h *Hosts) Side(p *pcaps.Packet, _ int64) (Side, bool) {
	a, ok := source(p)
	if !ok {
		return Secondary, true
	}
	if v, ok := h.votes[a]; ok {
		return h.role(v), true
	}
	return h.unknown, true
}

// Ports puts TCP and UDP packets to a server port on the primary side and
// every other packet on the secondary, as tcpprep --port does; server
// ports are 0-1023 unless given.
type Ports struct{ server [65536 / 8]byte }

// ParsePorts reads the server ports: "" for 0-1023, else "P,LO-HI,...".
func ParsePorts(s string) (*Ports, error) {
	p := &Ports{}
	if s == "" {
		s = "0-1023"
	}
	for _, f := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(f, "-")
		lo, err := strconv.ParseUint(a, 10, 16)
		hi := lo
		if err == nil && isRange {
			hi, err = strconv.ParseUint(b, 10, 16)
		}
		if err != nil || hi < lo {
			return nil, fmt.Errorf("%q is not a port or a range LO-HI", f)
		}
		for v := lo; v <= hi; v++ {
			p.server[v/8] |= 1 << (v % 8)
		}
	}
	return p, nil
}

// Side implements Splitter.
func (ps *Ports) Side(p *pcaps.Packet, _ int64) (Side, bool) {
	off, et, ok := network(p)
	if !ok {
		return Secondary, true
	}
	b := p.Data[off:]
	var proto uint8
	var l4 []byte
	switch et {
	case header.EtherTypeIPv4:
		ip := header.IPv4(b)
		if !ip.IsValid() || ip.HeaderLength() > len(b) {
			return Secondary, true
		}
		proto, l4 = ip.Protocol(), b[ip.HeaderLength():]
	case header.EtherTypeIPv6:
		ip := header.IPv6(b)
		if !ip.IsValid() {
			return Secondary, true
		}
		at, pr, st := ip.Transport()
		if st != header.ExtOK || at > len(b) {
			return Secondary, true
		}
		proto, l4 = pr, b[at:]
	}
	if proto == header.ProtoTCP && len(l4) >= header.TCPMinimumSize || proto == header.ProtoUDP && len(l4) >= header.UDPSize {
		dport := binary.BigEndian.Uint16(l4[2:4])
		if ps.server[dport/8]&(1<<(dport%8)) != 0 {
			return Primary, true
		}
	}
	return Secondary, true
}
