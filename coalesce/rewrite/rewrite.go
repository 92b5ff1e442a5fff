package rewrite

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Rewriter applies Options to frames and records. It reuses one buffer:
// what it returns is valid until its next call.
type Rewriter struct {
	o     Options
	buf   []byte
	Stats Stats
	// recalc: an edit before the network layer's asks for the checksums
	// to be made anew (--mtu-trunc).
	recalc bool
	// The address maps, ready (compile), and the old bytes of the
	// addresses the last edit moved.
	pnat             [2][]addrMap
	srcMaps, dstMaps []addrMap
	was              [2][16]byte
}

// Stats counts what the edits matched, so that a map that matches nothing
// can be reported.
type Stats struct {
	Frames     int64 // frames and super-packets edited
	SrcMapped  int64 // source addresses mapped (--pnat, --srcipmap)
	DstMapped  int64 // destination addresses mapped (--pnat, --dstipmap)
	PortMapped int64 // ports mapped
}

// New returns a Rewriter, or the first problem of o: Validate's error, so
// that options Validate accepts always give a Rewriter.
func New(o Options) (*Rewriter, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(o.PNAT[1]) == 0 {
		o.PNAT[1] = o.PNAT[0]
	}
	rw := &Rewriter{o: o, srcMaps: compile(o.SrcIPMap), dstMaps: compile(o.DstIPMap)}
	rw.pnat = [2][]addrMap{compile(o.PNAT[0]), compile(o.PNAT[1])}
	return rw, nil
}

// Options are the edits the Rewriter makes.
func (rw *Rewriter) Options() *Options { return &rw.o }

// KeepsLength reports whether the edits leave every frame's length as it
// is (no 802.1Q tag added or removed, nothing cut): then FrameInPlace and
// SuperInPlace can edit frames where they lie.
func (rw *Rewriter) KeepsLength() bool {
	return rw.o.VLAN != VLANAdd && rw.o.VLAN != VLANDel && !rw.o.MTUTrunc
}

// link copies frame into dst with the link-layer edits: the tag added or
// removed, then the MACs and the tag's fields.
func (rw *Rewriter) link(dst, frame []byte, lt layers.LinkType, dir Dir) []byte {
	dst = dst[:0]
	if lt != layers.LinkTypeEthernet || len(frame) < header.EthernetSize {
		return append(dst, frame...)
	}
	tagged := header.EtherType(binary.BigEndian.Uint16(frame[12:14])).IsVLAN() && len(frame) >= header.EthernetSize+4
	switch {
	case rw.o.VLAN == VLANAdd:
		dst = append(dst, frame[:12]...)
		tci := uint16(max(rw.o.VLANPri, 0))<<13 | uint16(max(rw.o.VLANCFI, 0))<<12 | uint16(max(rw.o.VLANTag, 0))
		dst = binary.BigEndian.AppendUint16(dst, uint16(header.EtherType8021Q))
		dst = binary.BigEndian.AppendUint16(dst, tci)
		dst = append(dst, frame[12:]...)
	case rw.o.VLAN == VLANDel && tagged:
		dst = append(append(dst, frame[:12]...), frame[16:]...)
	default:
		dst = append(dst, frame...)
	}
	rw.linkInPlace(dst, lt, dir)
	return dst
}

// linkInPlace makes the link-layer edits that keep the length: MACs and
// the outer tag's fields (--enet-vlan edit).
func (rw *Rewriter) linkInPlace(frame []byte, lt layers.LinkType, dir Dir) {
	if lt != layers.LinkTypeEthernet || len(frame) < header.EthernetSize {
		return
	}
	tagged := header.EtherType(binary.BigEndian.Uint16(frame[12:14])).IsVLAN() && len(frame) >= header.EthernetSize+4
	if rw.o.VLAN == VLANEdit && tagged {
		tci := binary.BigEndian.Uint16(frame[14:16])
		if rw.o.VLANTag >= 0 {
			tci = tci&^0x0fff | uint16(rw.o.VLANTag)
		}
		if rw.o.VLANPri >= 0 {
			tci = tci&^0xe000 | uint16(rw.o.VLANPri)<<13
		}
		if rw.o.VLANCFI >= 0 {
			tci = tci&^0x1000 | uint16(rw.o.VLANCFI)<<12
		}
		binary.BigEndian.PutUint16(frame[14:16], tci)
	}
	if m := rw.o.DstMAC[dir]; m.Set {
		copy(frame[0:6], m.Addr[:])
	}
	if m := rw.o.SrcMAC[dir]; m.Set {
		copy(frame[6:12], m.Addr[:])
	}
}

// Frame edits one captured frame of link type lt whose length on the wire
// is wireLen, as tcprewrite edits a packet, and returns the result (valid
// until the next call) and its new length on the wire.
func (rw *Rewriter) Frame(frame []byte, lt layers.LinkType, wireLen int, dir Dir) ([]byte, int) {
	out := rw.link(rw.buf, frame, lt, dir)
	rw.buf = out
	wire := wireLen + len(out) - len(frame)
	if rw.o.MTUTrunc {
		out, wire = rw.mtuTrunc(out, lt, wire)
		rw.buf = out
	}
	rw.frameL3(out, lt, wire <= len(out), dir)
	rw.recalc = false // taken by the IP header, or none was there
	return out, wire
}

// mtuTrunc is tcprewrite's --mtu-trunc (untrunc_packet): a frame whose
// network layer is longer than the MTU is cut to it, its IP length set to
// match and its length on the wire made its captured length; and, as
// there, the first fragment of a UDP datagram loses its checksum (no
// checksum can hold for a datagram cut short) and every IP frame has its
// checksums made anew.
func (rw *Rewriter) mtuTrunc(out []byte, lt layers.LinkType, wire int) ([]byte, int) {
	off, et, st := header.Network(out, lt)
	if st != header.LinkOK {
		return out, wire
	}
	mtu := rw.o.MTU
	if mtu == 0 {
		mtu = 1500
	}
	rw.recalc = true
	if et == header.EtherTypeIPv4 && len(out) >= off+header.IPv4MinimumSize {
		ip := header.IPv4(out[off:])
		ff := ip.FlagsFragment()
		if ff&0x1fff == 0 && ip.Protocol() == header.ProtoUDP && ff&header.IPv4FlagMF != 0 && len(out) >= off+ip.HeaderLength()+header.UDPSize {
			header.UDP(out[off+ip.HeaderLength():]).SetChecksum(0)
		}
	}
	if wire <= off+mtu {
		return out, wire
	}
	out = out[:min(len(out), off+mtu)]
	switch et {
	case header.EtherTypeIPv4:
		if len(out) >= off+header.IPv4MinimumSize {
			header.IPv4(out[off:]).SetTotalLength(uint16(mtu))
		}
	case header.EtherTypeIPv6:
		if len(out) >= off+header.IPv6MinimumSize {
			header.IPv6(out[off:]).SetPayloadLength(uint16(mtu - header.IPv6MinimumSize))
		}
	}
	return out, len(out)
}

// FrameInPlace is Frame for edits that keep the length (KeepsLength),
// made where the frame lies.
func (rw *Rewriter) FrameInPlace(frame []byte, lt layers.LinkType, wireLen int, dir Dir) {
	rw.linkInPlace(frame, lt, dir)
	rw.frameL3(frame, lt, wireLen <= len(frame), dir)
}

// frameL3 makes a frame's network-layer edits and the checksums.
func (rw *Rewriter) frameL3(out []byte, lt layers.LinkType, complete bool, dir Dir) {
	rw.Stats.Frames++
	off, et, st := header.Network(out, lt)
	if st != header.LinkOK {
		if lt == layers.LinkTypeEthernet && len(out) >= header.EthernetSize {
			rw.arp(out, dir)
		}
		return
	}
	switch et {
	case header.EtherTypeIPv4:
		rw.ipv4(out[off:], complete, dir)
	case header.EtherTypeIPv6:
		rw.ipv6(out[off:], complete, dir)
	}
	multicastMAC(out, lt, off, et)
}

// multicastMAC gives a frame to a multicast IP destination the Ethernet
// destination that address maps to (RFC 1112, RFC 2464), whatever MAC the
// options set: tcprewrite 4.6 does so (its issue 563), and a device under
// test drops multicast sent to a unicast MAC.
func multicastMAC(frame []byte, lt layers.LinkType, off int, et header.EtherType) {
	if lt != layers.LinkTypeEthernet {
		return
	}
	switch {
	case et == header.EtherTypeIPv4 && len(frame) >= off+header.IPv4MinimumSize:
		d := header.IPv4(frame[off:]).Destination()
		if d[0]&0xf0 == 0xe0 {
			copy(frame[0:6], []byte{0x01, 0x00, 0x5e, d[1] & 0x7f, d[2], d[3]})
		}
	case et == header.EtherTypeIPv6 && len(frame) >= off+header.IPv6MinimumSize:
		d := header.IPv6(frame[off:]).Destination()
		if d[0] == 0xff {
			copy(frame[0:6], []byte{0x33, 0x33, d[12], d[13], d[14], d[15]})
		}
	}
}

// l4 is a frame's transport header when the capture holds it: TCP or UDP
// and not a later fragment.
func l4Of(b []byte, proto uint8) []byte {
	switch {
	case proto == header.ProtoTCP && len(b) >= header.TCPMinimumSize:
		return b
	case proto == header.ProtoUDP && len(b) >= header.UDPSize:
		return b
	}
	return nil
}

func (rw *Rewriter) ipv4(b []byte, complete bool, dir Dir) {
	ip := header.IPv4(b)
	if !ip.IsValid() || ip.Version() != 4 {
		return
	}
	early := rw.recalc
	rw.recalc = false
	hl := ip.HeaderLength()
	var l4 []byte
	if ip.FlagsFragment()&0x1fff == 0 { // not a later fragment
		l4 = l4Of(b[hl:], ip.Protocol())
	}
	ttl := b[8:10] // TTL and protocol: one 16-bit word of the header
	var before [4]byte
	copy(before[:2], ttl)
	recalc := rw.ttl(&b[8])
	if recalc {
		ip.SetChecksum(update(ip.Checksum(), before[:2], ttl))
	}
	recalc = recalc || early
	if l4 != nil {
		copy(before[:], l4[:4])
	}
	if rw.ports(l4) {
		recalc = true
		updatePorts(l4, ip.Protocol(), before[:])
	}
	sm, dm := rw.addresses(ip.Source(), ip.Destination(), dir)
	rw.moved(ip.Source(), ip.Destination(), sm, dm, l4, ip.Protocol(), ip)
	if !recalc && !rw.o.FixCsum {
		return
	}
	// tcprewrite's fix_ipv4_checksums: the transport checksum of a whole,
	// unfragmented datagram whose length the frame holds exactly, then the
	// header's; a datagram of another length is left as it is.
	total := int(ip.TotalLength())
	if complete && !ip.IsFragment() {
		if total != len(b) {
			return
		}
		fullL4(b[hl:total], ip.Protocol(), ip.Addresses())
	}
	if total >= hl && total <= len(b) {
		ip.UpdateChecksum()
	}
}

func (rw *Rewriter) ipv6(b []byte, complete bool, dir Dir) {
	ip := header.IPv6(b)
	if !ip.IsValid() {
		return
	}
	early := rw.recalc
	rw.recalc = false
	off, proto, st := ip.Transport()
	var l4, sum []byte // ports to map; a checksum with a pseudo-header
	if st == header.ExtOK && off <= len(b) {
		l4 = l4Of(b[off:], proto)
		sum = l4
		if proto == protoICMPv6 && len(b) >= off+4 {
			sum = b[off:]
		}
	}
	recalc := rw.ttl(&b[7]) || early
	var before [4]byte
	if l4 != nil {
		copy(before[:], l4[:4])
	}
	if rw.ports(l4) {
		recalc = true
		updatePorts(l4, proto, before[:])
	}
	sm, dm := rw.addresses(ip.Source(), ip.Destination(), dir)
	rw.moved(ip.Source(), ip.Destination(), sm, dm, sum, proto, nil)
	if (recalc || rw.o.FixCsum) && complete && sum != nil && header.IPv6MinimumSize+int(ip.PayloadLength()) == len(b) {
		fullL4(sum, proto, ip.Addresses())
	}
}

// protoICMPv6 is ICMPv6, whose checksum covers a pseudo-header as TCP's
// and UDP's do (RFC 4443).
const protoICMPv6 = 58

// sumOffset is where the checksum lies in a TCP, UDP or ICMPv6 header.
func sumOffset(proto uint8) int {
	if proto == protoICMPv6 {
		return 2
	}
	return header.ChecksumOffset(proto)
}

// ttl edits a TTL or hop limit; true when it changed.
func (rw *Rewriter) ttl(t *uint8) bool {
	old := *t
	switch rw.o.TTL {
	case TTLSet:
		*t = rw.o.TTLValue
	case TTLAdd:
		*t = uint8(min(int(old)+int(rw.o.TTLValue), 255))
	case TTLSub:
		*t = uint8(max(int(old)-int(rw.o.TTLValue), 1))
	default:
		return false
	}
	return *t != old || rw.o.TTL != TTLSet
}

// ports maps a TCP or UDP header's ports; true when one changed.
func (rw *Rewriter) ports(l4 []byte) bool {
	if len(rw.o.PortMap) == 0 || l4 == nil {
		return false
	}
	changed := false
	for _, at := range []int{0, 2} {
		p := binary.BigEndian.Uint16(l4[at : at+2])
		for _, m := range rw.o.PortMap {
			if p >= m.Lo && p <= m.Hi {
				if m.To != p {
					binary.BigEndian.PutUint16(l4[at:at+2], m.To)
					changed = true
				}
				rw.Stats.PortMapped++
				break
			}
		}
	}
	return changed
}

// addrMap is a CIDRMap made ready for the packet path: To's network bytes
// and its length in bits.
type addrMap struct {
	from netip.Prefix
	net  [16]byte
	bits int
}

func compile(maps []CIDRMap) []addrMap {
	out := make([]addrMap, len(maps))
	for i, m := range maps {
		out[i] = addrMap{from: m.From, bits: m.To.Bits()}
		copy(out[i].net[:], m.To.Masked().Addr().AsSlice())
	}
	return out
}

// addresses maps a source and a destination address in place and reports
// which moved; rw.was keeps their old bytes for the checksum updates.
func (rw *Rewriter) addresses(src, dst []byte, dir Dir) (srcMoved, dstMoved bool) {
	srcMaps, dstMaps := rw.srcMaps, rw.dstMaps
	if len(rw.pnat[0]) > 0 {
		// --pnat: the side's own list for its source, the other side's
		// for its destination (tcprewrite's cidrmap1 and cidrmap2).
		srcMaps, dstMaps = rw.pnat[dir], rw.pnat[1-dir]
	}
	copy(rw.was[0][:], src)
	copy(rw.was[1][:], dst)
	if srcMoved = mapAddr(srcMaps, src); srcMoved {
		rw.Stats.SrcMapped++
	}
	if dstMoved = mapAddr(dstMaps, dst); dstMoved {
		rw.Stats.DstMapped++
	}
	return srcMoved, dstMoved
}

// moved updates the checksums for each address addresses moved: the old
// bytes in rw.was, the new in place.
func (rw *Rewriter) moved(src, dst []byte, srcMoved, dstMoved bool, sum []byte, proto uint8, ip header.IPv4) {
	for i, a := range [2][]byte{src, dst} {
		if !(i == 0 && srcMoved || i == 1 && dstMoved) {
			continue
		}
		old := rw.was[i][:len(a)]
		// RFC 1624 updates: the IPv4 header's checksum, and the
		// transport's, whose pseudo-header holds the address.
		if ip != nil {
			ip.SetChecksum(update(ip.Checksum(), old, a))
		}
		updateL4(sum, proto, old, a)
	}
}

// mapAddr applies, in place, the first map whose From holds a: To's
// network bits, a's host bits. It reports whether one applied.
func mapAddr(maps []addrMap, a []byte) bool {
	if len(maps) == 0 {
		return false
	}
	addr, ok := netip.AddrFromSlice(a)
	if !ok {
		return false
	}
	for i := range maps {
		m := &maps[i]
		if !m.from.Contains(addr) {
			continue
		}
		for k := range a {
			var mask byte
			switch {
			case m.bits >= (k+1)*8:
				mask = 0xff
			case m.bits > k*8:
				mask = 0xff << (8 - (m.bits - k*8))
			}
			a[k] = m.net[k]&mask | a[k]&^mask
		}
		return true
	}
	return false
}

// arp maps the protocol addresses of an Ethernet ARP request or reply for
// IPv4 with --pnat's lists, as tcprewrite's rewrite_iparp does (the IP maps
// leave ARP alone): in a request the sender's address by the other side's
// list and the target's by the side's own, in a reply the other way round.
// ARP has no checksum.
func (rw *Rewriter) arp(frame []byte, dir Dir) {
	if len(rw.o.PNAT[0]) == 0 {
		return
	}
	off, t, ok := header.Ethernet(frame).Tags(nil)
	if !ok || t != 0x0806 || len(frame) < off+28 {
		return
	}
	a := frame[off:]
	op := binary.BigEndian.Uint16(a[6:8])
	if binary.BigEndian.Uint16(a[2:4]) != 0x0800 || a[4] != 6 || a[5] != 4 || op != 1 && op != 2 {
		return
	}
	sender, target := a[14:18], a[24:28]
	own, other := rw.pnat[dir], rw.pnat[1-dir]
	if op == 1 {
		mapAddr(other, sender)
		mapAddr(own, target)
	} else {
		mapAddr(other, target)
		mapAddr(own, sender)
	}
}

// update is RFC 1624's incremental update of checksum c for 16-bit words
// old replaced by new: HC' = ~(~HC + ~m + m').
func update(c uint16, old, new []byte) uint16 {
	acc := uint64(^c)
	for i := 0; i+1 < len(old); i += 2 {
		acc += uint64(^binary.BigEndian.Uint16(old[i:]))
		acc += uint64(binary.BigEndian.Uint16(new[i:]))
	}
	return ^header.Fold(acc)
}

// updateL4 updates a TCP or UDP checksum for a pseudo-header address
// change; a UDP checksum of 0 (none, over IPv4) stays 0.
func updateL4(l4 []byte, proto uint8, old, new []byte) {
	if l4 == nil {
		return
	}
	at := sumOffset(proto)
	c := binary.BigEndian.Uint16(l4[at:])
	if proto == header.ProtoUDP && c == 0 {
		return
	}
	c = update(c, old, new)
	if proto == header.ProtoUDP && c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(l4[at:], c)
}

// updatePorts updates a TCP or UDP checksum for its ports, which were
// before: the checksum covers them as any other header bytes.
func updatePorts(l4 []byte, proto uint8, before []byte) { updateL4(l4, proto, before, l4[:4]) }

// fullL4 recomputes a TCP, UDP or ICMPv6 checksum over the whole segment.
func fullL4(l4 []byte, proto uint8, addrs []byte) {
	at := sumOffset(proto)
	if proto != header.ProtoTCP && proto != header.ProtoUDP && proto != protoICMPv6 || len(l4) < at+2 {
		return
	}
	if proto != protoICMPv6 {
		binary.BigEndian.PutUint16(l4[at:], header.TransportChecksum(addrs, proto, l4))
		return
	}
	l4[at], l4[at+1] = 0, 0
	acc := header.Sum(l4, header.PseudoHeaderSum(addrs, proto, uint32(len(l4))))
	binary.BigEndian.PutUint16(l4[at:], ^header.Fold(acc))
}

// Record edits a coalescer record on its way out: a frame passed through
// as Frame does; a super-packet once, its headers only — the IPv4 header
// checksum and the pseudo-header seed made anew, the virtio header's
// offsets moved with the link-layer header — so that the kernel cuts it
// into what Frame makes of each original segment. rec then points at the
// Rewriter's buffer (or at its own, edited in place).
func (rw *Rewriter) Record(rec *coalesce.Record, dir Dir) {
	p := &rec.Packet
	if p.IsBlock() {
		return
	}
	if rec.Meta.Segs <= 1 && rec.Meta.Vnet.GSOType == gso.None {
		out, wire := rw.Frame(p.Data, p.LinkType, p.Length, dir)
		p.Data, p.Length, rec.Borrowed = out, wire, false
		p.Block, p.Verbatim = nil, false
		return
	}
	rw.super(rec, dir)
}

func (rw *Rewriter) super(rec *coalesce.Record, dir Dir) {
	p := &rec.Packet
	out, delta := rw.Super(p.Data, rec.Parts, &rec.Meta.Vnet, p.LinkType, dir)
	p.Data, p.Length, rec.Borrowed = out, p.Length+delta, false
	p.Block, p.Verbatim = nil, false
}

// Super edits a super-packet once: frame (its headers, and its payload
// unless parts hold it) with the virtio header h, which moves with the
// link-layer header. It returns the new frame (valid until the next call)
// and the change of its length.
func (rw *Rewriter) Super(frame []byte, parts [][]byte, h *gso.VnetHeader, lt layers.LinkType, dir Dir) ([]byte, int) {
	hdrLen := min(int(h.HdrLen), len(frame))
	out := rw.link(rw.buf, frame[:hdrLen], lt, dir)
	delta := len(out) - hdrLen
	out = append(out, frame[hdrLen:]...)
	rw.buf = out
	total := len(out)
	for _, part := range parts {
		total += len(part)
	}
	h.HdrLen = uint16(int(h.HdrLen) + delta)
	h.CsumStart = uint16(int(h.CsumStart) + delta)
	rw.superL3(out, total, h, lt, dir)
	return out, delta
}

// SuperInPlace is Super for edits that keep the length (KeepsLength),
// made where the super-packet's headers lie.
func (rw *Rewriter) SuperInPlace(frame []byte, parts [][]byte, h *gso.VnetHeader, lt layers.LinkType, dir Dir) {
	rw.linkInPlace(frame, lt, dir)
	total := len(frame)
	for _, part := range parts {
		total += len(part)
	}
	rw.superL3(frame, total, h, lt, dir)
}

// superL3 edits a super-packet's network and transport headers: total is
// its whole length, parts included.
func (rw *Rewriter) superL3(out []byte, total int, h *gso.VnetHeader, lt layers.LinkType, dir Dir) {
	rw.Stats.Frames++
	off, et, st := header.Network(out, lt)
	if st != header.LinkOK {
		return
	}
	defer multicastMAC(out, lt, off, et)
	l4off := int(h.CsumStart)
	if l4off > len(out) || l4off < off {
		return
	}
	v6 := et == header.EtherTypeIPv6
	ipb, l4 := out[off:l4off], out[l4off:]
	var proto uint8
	if v6 {
		rw.ttl(&ipb[7])
		_, proto, _ = header.IPv6(ipb).Transport()
		ip := header.IPv6(ipb)
		sm, dm := rw.addresses(ip.Source(), ip.Destination(), dir)
		if h.GSOType&^gso.ECN == gso.UDP { // UFO: the datagram's own checksum
			rw.moved(ip.Source(), ip.Destination(), sm, dm, l4, proto, nil)
		}
	} else {
		ip := header.IPv4(ipb)
		rw.ttl(&ipb[8])
		proto = ip.Protocol()
		sm, dm := rw.addresses(ip.Source(), ip.Destination(), dir)
		if h.GSOType&^gso.ECN == gso.UDP { // UFO: the datagram's own checksum
			rw.moved(ip.Source(), ip.Destination(), sm, dm, l4, proto, nil)
		}
		ip.UpdateChecksum()
	}
	if h.GSOType&^gso.ECN == gso.UDP {
		// UFO keeps the datagram's full checksum: ports enter it too.
		var before [4]byte
		copy(before[:], l4[:4])
		if rw.ports(l4Of(l4, proto)) {
			updatePorts(l4, proto, before[:])
		}
		return
	}
	rw.ports(l4Of(l4, proto))
	l4len := uint32(total - l4off)
	if proto == header.ProtoUDP {
		l4len = uint32(header.UDP(l4).Length()) // the seed uses uh->len as stored
	}
	gso.SeedChecksum(ipb, v6, proto, l4, l4len)
}
