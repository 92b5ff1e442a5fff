package split

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// source is the packet's IP source address (false for other frames).
func source(p *pcaps.Packet) (netip.Addr, bool) {
	off, et, st := header.Network(p.Data, p.LinkType)
	if st != header.LinkOK {
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

// Hosts classifies hosts by who opens TCP connections: a host that sends a
// SYN without ACK is a client, one that answers with SYN+ACK a server.
// Packets from clients go out primary, from servers secondary; a host the
// capture does not classify is a client (tcpprep --auto=client) or a server
// (--auto=server), and frames that are not IP go out secondary, as tcpprep
// sends them. Unlike tcpprep 4.4 and 4.6, which leave IPv6 hosts
// unclassified, it classifies IPv6 hosts too.
type Hosts struct {
	role    map[netip.Addr]Side
	unknown Side
	// Clients and Servers count the hosts classified.
	Clients, Servers int
}

// Learn reads a capture to its end to classify its hosts; unknown is the
// side of hosts it does not classify.
func Learn(r *pcaps.Reader, unknown Side) (*Hosts, error) {
	h := &Hosts{role: map[netip.Addr]Side{}, unknown: unknown}
	var p pcaps.Packet
	for {
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		h.learn(&p)
	}
	for _, s := range h.role {
		if s == Primary {
			h.Clients++
		} else {
			h.Servers++
		}
	}
	return h, nil
}

func (h *Hosts) learn(p *pcaps.Packet) {
	off, et, st := header.Network(p.Data, p.LinkType)
	if st != header.LinkOK {
		return
	}
	b := p.Data[off:]
	var src, dst []byte
	var l4 []byte
	switch et {
	case header.EtherTypeIPv4:
		ip := header.IPv4(b)
		if !ip.IsValid() || ip.Protocol() != header.ProtoTCP || ip.IsFragment() {
			return
		}
		src, dst, l4 = ip.Source(), ip.Destination(), b[ip.HeaderLength():]
	case header.EtherTypeIPv6:
		ip := header.IPv6(b)
		if !ip.IsValid() {
			return
		}
		at, proto, st := ip.Transport()
		if st != header.ExtOK || proto != header.ProtoTCP || at > len(b) {
			return
		}
		src, dst, l4 = ip.Source(), ip.Destination(), b[at:]
	default:
		return
	}
	t := header.TCP(l4)
	if len(t) < header.TCPMinimumSize {
		return
	}
	f := t.Flags()
	if f&header.TCPFlagSYN == 0 {
		return
	}
	client, server := src, dst
	if f&header.TCPFlagACK != 0 {
		client, server = dst, src
	}
	c, _ := netip.AddrFromSlice(client)
	s, _ := netip.AddrFromSlice(server)
	// The first role seen stays: a host both opening and accepting
	// connections is what it did first. A hostile capture's millions of
	// hosts stop being learned at maxHosts (they are then unclassified).
	if len(h.role) >= maxHosts {
		return
	}
	if _, ok := h.role[c]; !ok {
		h.role[c] = Primary
	}
	if _, ok := h.role[s]; !ok {
		h.role[s] = Secondary
	}
}

// maxHosts bounds the hosts Learn remembers.
const maxHosts = 1 << 22

// Side implements Splitter.
func (h *Hosts) Side(p *pcaps.Packet, _ int64) (Side, bool) {
	a, ok := source(p)
	if !ok {
		return Secondary, true
	}
	if s, ok := h.role[a]; ok {
		return s, true
	}
	return h.unknown, true
}
