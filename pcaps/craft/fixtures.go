package craft

import (
	"fmt"
	"os"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Fixture is a named capture of traffic that the coalescer merges and the
// kernel must segment back byte for byte.
type Fixture struct {
	Name string
	What string
	Pkts []pcaps.Packet
}

// Fixtures are one capture per shape the coalescer merges: TCP ones hold a
// handshake, a bulk run long enough for several super-packets, the
// receiver's ACKs interleaved, and a short last segment; UDP ones a run of
// datagrams or of fragment trains.
func Fixtures() []Fixture {
	tcp := TCPBulk()
	v6 := tcp
	v6.V6, v6.FlowLabel, v6.TTL = true, 0x9a3c5, 63
	v6.Payload = Payload(1428, 0) // 1500-byte packets
	udp := UDPBulk()
	udp6 := udp
	udp6.V6 = true
	vlan := tcp
	vlan.VLANs = []uint16{TPID8021Q}
	qinq := tcp
	qinq.VLANs = []uint16{TPID8021AD, TPID8021Q}
	opts := tcp
	opts.IPOpts = []byte{0x94, 4, 0, 0} // router alert
	opts.Payload = Payload(1444, 0)
	wrap := tcp
	wrap.ID = 0xffd0
	return []Fixture{
		{"tcpv4", "TCP over IPv4 with timestamps", conversation(tcp, 100)},
		{"tcpv6-ts", "TCP over IPv6 with timestamps and a flow label", conversation(v6, 100)},
		{"uso-v4", "UDP datagrams of 1000 bytes over IPv4 (USO)", datagrams(udp, 150)},
		{"uso-v6", "UDP datagrams of 1000 bytes over IPv6 (USO)", datagrams(udp6, 150)},
		{"vlan", "TCP in an 802.1Q tag", conversation(vlan, 80)},
		{"qinq", "TCP in 802.1ad + 802.1Q tags", conversation(qinq, 80)},
		{"ipv4-options", "TCP over IPv4 with a router alert option", conversation(opts, 80)},
		{"ipv4-id-wrap", "TCP over IPv4 whose ID wraps from 0xffff to 0", conversation(wrap, 100)},
		{"psh-fin", "TCP ending in a short segment with PSH|FIN", conversation(tcp, 30)},
		{"ufo-v4", "UDP datagrams of 1 to 30 KB in IPv4 fragments of 1480 bytes (UFO)", fragmented(udp, 20)},
	}
}

// conversation is a handshake, n data segments from base (the last one
// short, with PSH|FIN) and an ACK from the receiver after every fourth.
func conversation(base Frame, n int) []pcaps.Packet {
	ts := base.Timestamp
	at := func(p Frame, d time.Duration) Frame { p.Timestamp = ts.Add(d); return p }
	rev := func(p Frame) Frame {
		p.Sport, p.Dport = p.Dport, p.Sport
		p.Seq, p.Ack = p.Ack, p.Seq
		p.Payload, p.ID = nil, 0x4000
		return p
	}
	syn := base
	syn.Flags, syn.Payload, syn.Seq, syn.ID = SYN, nil, base.Seq-1, base.ID-1
	syn.TCPOpts = []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x10, 0, 0, 0, 0, 0, 1, 3, 3, 7}
	synack := rev(syn)
	synack.Flags, synack.Ack = SYN|ACK, base.Seq
	synack.Seq = base.Ack - 1
	ack := rev(base)
	ack.Seq, ack.Ack = base.Ack, base.Seq
	out := []pcaps.Packet{at(syn, 0).Packet(), at(synack, 20*time.Microsecond).Packet(), at(ack, 40*time.Microsecond).Packet()}
	base.Timestamp = ts.Add(60 * time.Microsecond)
	segs := Flow(base, n, func(k int, p *Frame) {
		if k == n-1 {
			p.Payload = Payload(300, byte(k))
			p.Flags |= PSH | FIN
		}
	})
	for k, s := range segs {
		out = append(out, s.Packet())
		if k%4 == 3 || k == n-1 {
			a := rev(s)
			a.Seq, a.Ack = base.Ack, s.Seq+uint32(len(s.Payload))
			if k == n-1 {
				a.Ack++
			}
			a.ID = 0x4000 + uint16(k)
			a.Timestamp = s.Timestamp.Add(2 * time.Microsecond)
			out = append(out, a.Packet())
		}
	}
	return out
}

// datagrams is n datagrams of base's size, the last one shorter.
func datagrams(base Frame, n int) []pcaps.Packet {
	return Packets(Flow(base, n, func(k int, p *Frame) {
		if k == n-1 {
			p.Payload = Payload(200, byte(k))
		}
	}))
}

// fragmented is n UDP datagrams of varying sizes cut into IPv4 fragments of
// 1480 bytes, as a host with a 1500-byte MTU sends them (DF clear, one ID
// per datagram); one size in five fits a single packet.
func fragmented(base Frame, n int) []pcaps.Packet {
	sizes := []int{4000, 8000, 2952, 1200, 30000}
	base.DF = false
	ts := base.Timestamp
	var out []pcaps.Packet
	for k := range n {
		p := base
		p.ID = base.ID + uint16(k)
		p.Payload = Payload(sizes[k%len(sizes)], byte(k))
		p.Timestamp = ts
		fr := Fragments(p, nil, 1480)
		out = append(out, fr...)
		ts = fr[len(fr)-1].Timestamp.Add(50 * time.Microsecond)
	}
	return out
}

// WriteFile writes packets to path as a microsecond pcap of their link type.
func WriteFile(path string, pkts []pcaps.Packet) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	lt := layers.LinkTypeEthernet
	if len(pkts) > 0 {
		lt = pkts[0].LinkType
	}
	w := pcaps.NewWriter(f, pcaps.WriterOptions{Format: pcaps.FormatPcap, LinkType: lt})
	for i := range pkts {
		if err := w.Write(&pkts[i], nil); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
