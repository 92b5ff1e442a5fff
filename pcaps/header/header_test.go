package header_test

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// frames are crafted (independently of this package) in the shapes the
// views must read; gopacket decodes the same bytes as the oracle.
func frames() map[string]craft.Frame {
	tcp := craft.TCPBulk()
	syn := tcp
	syn.Flags, syn.Payload = craft.SYN, nil
	syn.TCPOpts = []byte{2, 4, 0x05, 0xb4, 1, 1, 4, 2}
	v6 := tcp
	v6.V6, v6.FlowLabel, v6.TOS, v6.TTL = true, 0x54321, 0xb8, 63
	ext := v6
	ext.Ext = make([]byte, 16)
	opts := tcp
	opts.IPOpts, opts.TOS, opts.ID = []byte{0x94, 4, 0, 0}, 0x10, 0xbeef
	vlan := tcp
	vlan.VLANs = []uint16{craft.TPID8021Q}
	qinq := tcp
	qinq.VLANs = []uint16{craft.TPID8021AD, craft.TPID8021Q}
	udp := craft.UDPBulk()
	udp6 := udp
	udp6.V6 = true
	flags := tcp
	flags.Flags, flags.Urg, flags.Reserved = craft.ACK|craft.PSH|craft.URG|craft.CWR|craft.ECE, 77, 1
	return map[string]craft.Frame{"tcpv4": tcp, "syn": syn, "tcpv6": v6, "tcpv6 ext": ext, "ipv4 options": opts,
		"vlan": vlan, "qinq": qinq, "udpv4": udp, "udpv6": udp6, "flags": flags}
}

func TestViewsAgainstGopacket(t *testing.T) {
	for name, f := range frames() {
		t.Run(name, func(t *testing.T) {
			b := f.Bytes()
			pkt := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
			off, et, st := header.Network(b, layers.LinkTypeEthernet)
			if st != header.LinkOK {
				t.Fatalf("Network: %v", st)
			}
			if want := 14 + 4*len(f.VLANs); off != want {
				t.Errorf("network offset %d, want %d", off, want)
			}
			var l4 []byte
			var addrs []byte
			var proto uint8
			if ip4, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
				ip := header.IPv4(b[off:])
				if et != header.EtherTypeIPv4 || !ip.IsValid() || !ip.IsChecksumValid() {
					t.Fatalf("IPv4 view: ethertype %#x, valid %v, checksum valid %v", et, ip.IsValid(), ip.IsChecksumValid())
				}
				eq(t, "IHL", ip.HeaderLength(), int(ip4.IHL)*4)
				eq(t, "TOS", ip.TOS(), ip4.TOS)
				eq(t, "total length", ip.TotalLength(), ip4.Length)
				eq(t, "ID", ip.ID(), ip4.Id)
				eq(t, "DF", ip.DF(), ip4.Flags&layers.IPv4DontFragment != 0)
				eq(t, "MF", ip.MF(), ip4.Flags&layers.IPv4MoreFragments != 0)
				eq(t, "fragment offset", ip.FragmentOffset(), int(ip4.FragOffset)*8)
				eq(t, "TTL", ip.TTL(), ip4.TTL)
				eq(t, "protocol", ip.Protocol(), uint8(ip4.Protocol))
				eq(t, "checksum", ip.Checksum(), ip4.Checksum)
				eq(t, "source", net.IP(ip.Source()).String(), ip4.SrcIP.String())
				eq(t, "destination", net.IP(ip.Destination()).String(), ip4.DstIP.String())
				eq(t, "options", len(ip.Options()), len(f.IPOpts))
				l4, addrs, proto = ip.Payload(), ip.Addresses(), ip.Protocol()
			} else {
				ip6 := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				ip := header.IPv6(b[off:])
				if et != header.EtherTypeIPv6 || !ip.IsValid() {
					t.Fatalf("IPv6 view: ethertype %#x, valid %v", et, ip.IsValid())
				}
				eq(t, "traffic class", ip.TrafficClass(), ip6.TrafficClass)
				eq(t, "flow label", ip.FlowLabel(), ip6.FlowLabel)
				eq(t, "payload length", ip.PayloadLength(), ip6.Length)
				eq(t, "next header", ip.NextHeader(), uint8(ip6.NextHeader))
				eq(t, "hop limit", ip.HopLimit(), ip6.HopLimit)
				eq(t, "source", net.IP(ip.Source()).String(), ip6.SrcIP.String())
				eq(t, "destination", net.IP(ip.Destination()).String(), ip6.DstIP.String())
				toff, p, est := ip.Transport()
				if est != header.ExtOK {
					t.Fatalf("Transport: %v", est)
				}
				eq(t, "transport offset", toff, 40+len(f.Ext))
				l4, addrs, proto = ip[toff:], ip.Addresses(), p
			}
			if tl, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
				th := header.TCP(l4)
				if proto != header.ProtoTCP || !th.IsValid() {
					t.Fatalf("TCP view: protocol %d, valid %v", proto, th.IsValid())
				}
				eq(t, "source port", th.SourcePort(), uint16(tl.SrcPort))
				eq(t, "destination port", th.DestinationPort(), uint16(tl.DstPort))
				eq(t, "ports", th.Ports(), uint32(tl.SrcPort)<<16|uint32(tl.DstPort))
				eq(t, "seq", th.SequenceNumber(), tl.Seq)
				eq(t, "ack", th.AckNumber(), tl.Ack)
				eq(t, "data offset", th.DataOffset(), int(tl.DataOffset)*4)
				eq(t, "window", th.WindowSize(), tl.Window)
				eq(t, "checksum", th.Checksum(), tl.Checksum)
				eq(t, "urgent", th.UrgentPointer(), tl.Urgent)
				eq(t, "NS bit", th.Reserved()&1 == 1, tl.NS)
				eq(t, "payload", len(th.Payload()), len(tl.Payload))
				eq(t, "options", len(th.Options()), len(f.TCPOpts))
				flags := header.TCPFlags(0)
				for bit, set := range []bool{tl.FIN, tl.SYN, tl.RST, tl.PSH, tl.ACK, tl.URG, tl.ECE, tl.CWR} {
					if set {
						flags |= 1 << bit
					}
				}
				eq(t, "flags", th.Flags(), flags)
				wantMSS := 0
				for _, o := range tl.Options {
					if o.OptionType == layers.TCPOptionKindMSS {
						wantMSS = int(binary.BigEndian.Uint16(o.OptionData))
					}
				}
				eq(t, "MSS", th.MSS(), wantMSS)
			} else {
				ul := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
				uh := header.UDP(l4)
				if proto != header.ProtoUDP || !uh.IsValid() {
					t.Fatalf("UDP view: protocol %d", proto)
				}
				eq(t, "ports", uh.Ports(), uint32(ul.SrcPort)<<16|uint32(ul.DstPort))
				eq(t, "length", uh.Length(), ul.Length)
				eq(t, "checksum", uh.Checksum(), ul.Checksum)
			}
			// craft wrote the checksum with its own code.
			eq(t, "transport checksum", header.TransportChecksum(addrs, proto, l4), binary.BigEndian.Uint16(l4[header.ChecksumOffset(proto):]))
		})
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
}

func TestNetwork(t *testing.T) {
	tcp := craft.TCPBulk()
	sll, raw, raw6 := tcp, tcp, tcp
	sll.LinkType, raw.LinkType, raw6.LinkType, raw6.V6 = layers.LinkTypeLinuxSLL, layers.LinkTypeRaw, layers.LinkTypeRaw, true
	eth := tcp.Bytes()
	arp := append(append([]byte(nil), eth[:12]...), 0x08, 0x06, 0, 1)
	tagged := craft.TCPBulk()
	tagged.VLANs = []uint16{craft.TPID8021Q}
	cutTag := tagged.Bytes()[:16]
	sll2 := append([]byte{0x08, 0x00}, make([]byte, 18)...)
	sll2 = append(sll2, eth[14:]...)
	null := append([]byte{2, 0, 0, 0}, eth[14:]...)
	for _, c := range []struct {
		name  string
		frame []byte
		lt    layers.LinkType
		off   int
		et    header.EtherType
		st    header.LinkStatus
	}{
		{"ethernet", eth, layers.LinkTypeEthernet, 14, header.EtherTypeIPv4, header.LinkOK},
		{"sll", sll.Bytes(), layers.LinkTypeLinuxSLL, 16, header.EtherTypeIPv4, header.LinkOK},
		{"sll2", sll2, layers.LinkTypeLinuxSLL2, 20, header.EtherTypeIPv4, header.LinkOK},
		{"raw v4", raw.Bytes(), layers.LinkTypeRaw, 0, header.EtherTypeIPv4, header.LinkOK},
		{"raw v6", raw6.Bytes(), layers.LinkTypeIPv6, 0, header.EtherTypeIPv6, header.LinkOK},
		{"bsd raw", raw.Bytes(), header.LinkTypeRawBSD, 0, header.EtherTypeIPv4, header.LinkOK},
		{"arp", arp, layers.LinkTypeEthernet, 0, 0, header.LinkNotIP},
		{"tag cut short", cutTag, layers.LinkTypeEthernet, 0, 0, header.LinkTruncated},
		{"13 bytes", eth[:13], layers.LinkTypeEthernet, 0, 0, header.LinkTruncated},
		{"null (not coalesced)", null, layers.LinkTypeNull, 0, 0, header.LinkUnsupported},
		{"unknown link type", eth, layers.LinkTypeFDDI, 0, 0, header.LinkUnsupported},
	} {
		off, et, st := header.Network(c.frame, c.lt)
		if off != c.off || et != c.et || st != c.st {
			t.Errorf("%s: Network = %d, %#x, %v; want %d, %#x, %v", c.name, off, et, st, c.off, c.et, c.st)
		}
	}
	if n, et, st := header.Link(null, layers.LinkTypeNull); n != 4 || et != header.EtherTypeIPv4 || st != header.LinkOK {
		t.Errorf("Link(null) = %d, %#x, %v", n, et, st)
	}
}

func TestIPv6ExtensionWalk(t *testing.T) {
	f := craft.TCPBulk()
	f.V6, f.Ext = true, make([]byte, 24)
	ip := header.IPv6(f.Bytes()[14:])
	if off, p, st := ip.Transport(); off != 64 || p != header.ProtoTCP || st != header.ExtOK {
		t.Errorf("destination options: %d, %d, %v", off, p, st)
	}
	f.Ext, f.Fragment = nil, true
	if _, _, st := header.IPv6(f.Bytes()[14:]).Transport(); st != header.ExtFragment {
		t.Errorf("fragment header: %v", st)
	}
	cut := header.IPv6(append([]byte(nil), ip[:44]...)) // extension header cut
	if _, _, st := cut.Transport(); st != header.ExtTruncated {
		t.Errorf("cut extension header: %v", st)
	}
}

func TestIPv4Setters(t *testing.T) {
	f := craft.TCPBulk()
	f.IPOpts = []byte{1, 1, 1, 0}
	b := f.Bytes()
	ip := header.IPv4(b[14:])
	ip.SetID(0x1234)
	ip.SetTotalLength(999)
	ip.SetFragment(1480, true)
	ip.UpdateChecksum()
	pkt := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Lazy)
	got := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if got.Id != 0x1234 || got.Length != 999 || got.FragOffset != 185 || got.Flags != layers.IPv4MoreFragments {
		t.Errorf("gopacket reads id %#x length %d offset %d flags %v", got.Id, got.Length, got.FragOffset, got.Flags)
	}
	// The checksum over the header (options included) sums to 0xFFFF.
	if s := slowSum(b[14 : 14+24]); s != 0xffff {
		t.Errorf("header sums to %#x after UpdateChecksum", s)
	}
}

// slowSum is RFC 1071 word by word, the reference for the fast path.
func slowSum(b []byte) uint16 {
	var acc uint32
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		acc += uint32(b[len(b)-1]) << 8
	}
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

func TestChecksumFastPath(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 3000; n += 1 + n/50 {
		for range 5 {
			b := make([]byte, n)
			rng.Read(b)
			if rng.Intn(4) == 0 {
				for i := range b {
					b[i] = 0xff // carries everywhere
				}
			}
			if got, want := header.Fold(header.Sum(b, 0)), slowSum(b); got != want {
				t.Fatalf("n=%d: sum %#x, want %#x", n, got, want)
			}
		}
	}
}

// FuzzSum: the word-at-a-time sum (two carry chains) equals the RFC 1071
// sum of 16-bit words, on any bytes.
func FuzzSum(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0xff}, 200))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := header.Fold(header.Sum(b, 0)), slowSum(b); got != want {
			t.Fatalf("%d bytes: sum %#x, want %#x", len(b), got, want)
		}
	})
}

func BenchmarkChecksum1500(b *testing.B) {
	buf := craft.Payload(1500, 1)
	b.SetBytes(1500)
	for range b.N {
		header.Fold(header.Sum(buf, 0))
	}
}

// FuzzViews: any bytes of any link type; whatever the IsValid checks let
// through is read without a panic, and agrees with gopacket where gopacket
// decodes a checksum-correct IPv4 header.
func FuzzViews(f *testing.F) {
	for _, fr := range frames() {
		f.Add(fr.Bytes(), uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		lts := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw, layers.LinkTypeNull}
		lt := lts[int(which)%len(lts)]
		header.Link(b, lt)
		off, et, st := header.Network(b, lt)
		if st != header.LinkOK {
			return
		}
		var l4 []byte
		switch et {
		case header.EtherTypeIPv4:
			ip := header.IPv4(b[off:])
			if !ip.IsValid() {
				return
			}
			_ = ip.Options()
			ip.IsChecksumValid()
			l4 = ip.Payload()
			if lt == layers.LinkTypeEthernet && ip.IsChecksumValid() {
				var g layers.IPv4
				if g.DecodeFromBytes(b[off:], gopacket.NilDecodeFeedback) == nil && g.Id != ip.ID() {
					t.Fatalf("ID %d, gopacket %d", ip.ID(), g.Id)
				}
			}
		case header.EtherTypeIPv6:
			ip := header.IPv6(b[off:])
			if !ip.IsValid() {
				return
			}
			toff, _, st := ip.Transport()
			if st != header.ExtOK || toff > len(ip) {
				return
			}
			l4 = ip[toff:]
		}
		if th := header.TCP(l4); th.IsValid() {
			_, _ = th.Options(), th.Payload()
			th.MSS()
		}
		if uh := header.UDP(l4); uh.IsValid() {
			_ = uh.Payload()
		}
	})
}

// TestDecrementTTL: the kernel's incremental update leaves the header
// checksum that craft recomputes from scratch, over random headers and
// headers whose checksum sits next to the fold (0xfeff, 0x0000, 0x00ff);
// zero is 0x0000 for one and may be 0xffff for the other.
func TestDecrementTTL(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var headers [][]byte
	for range 100000 {
		b := make([]byte, 20)
		rng.Read(b)
		b[0], b[8] = 0x45, byte(2+rng.Intn(254))
		headers = append(headers, b)
	}
	for _, edge := range []uint16{0xfeff, 0x0000, 0x00ff} {
		b := append([]byte(nil), headers[0]...)
		found := false
		for id := 0; id < 1<<16 && !found; id++ {
			header.IPv4(b).SetID(uint16(id))
			found = craft.IPv4Checksum(b) == edge
		}
		if !found {
			t.Fatalf("no ID gives the checksum %#04x", edge)
		}
		headers = append(headers, b)
	}
	for _, b := range headers {
		ip := header.IPv4(b)
		ip.SetChecksum(craft.IPv4Checksum(zeroChecksum(b)))
		ttl := ip.TTL()
		ip.DecrementTTL()
		want := craft.IPv4Checksum(zeroChecksum(b))
		if ip.TTL() != ttl-1 || ip.Checksum() != want && !(ip.Checksum() == 0 && want == 0xffff) {
			t.Fatalf("%x: TTL %d, checksum %#04x, recomputed %#04x", b, ip.TTL(), ip.Checksum(), want)
		}
	}
}

// zeroChecksum is a copy of an IPv4 header with its checksum field zero.
func zeroChecksum(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[10], c[11] = 0, 0
	return c
}
