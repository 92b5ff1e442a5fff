package gso

import (
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// tunnel is the segmentation of a UDP tunnel super-packet (Linux 6.17+, a
// tap's virtio_net_hdr_v1_hash_tunnel): virtio_net_hdr_tnl_to_skb's
// checks, then skb_udp_tunnel_segment, which segments the inner TCP or UDP
// packet as tcp or uso do and puts the outer headers before every segment
// with their own lengths, the outer IPv4 ID0+k and header checksum, and,
// with UDPTunnelCsum, the outer UDP checksum (gso_make_checksum from the
// seed); without it the outer UDP checksum is copied as it stands.
func (s *Segmenter) tunnel(frame []byte, lt layers.LinkType, h VnetHeader) ([][]byte, error) {
	t, inner := h.GSOType.Tunnel(), h.GSOType.Base()
	switch {
	case t == UDPTunnel4|UDPTunnel6:
		return nil, invalid("both UDP tunnel bits")
	case inner != TCPv4 && inner != TCPv6 && inner != UDPL4:
		return nil, invalid("UDP tunnel with inner gso_type %s", inner)
	case h.Flags&NeedsCsum == 0:
		return nil, invalid("UDP tunnel without NEEDS_CSUM")
	case h.GSOSize == 0 || h.GSOSize == 0xffff:
		return nil, invalid("gso_size %d", h.GSOSize)
	}
	if lt != layers.LinkTypeEthernet || !header.Ethernet(frame).IsValid() {
		return nil, invalid("UDP tunnel needs an Ethernet frame")
	}
	ol3, etype, st := header.Network(frame, lt)
	if st != header.LinkOK {
		return nil, invalid("no outer IPv4/IPv6 header")
	}
	ov6 := t == UDPTunnel6
	iv6 := inner == TCPv6 || (inner == UDPL4 && len(frame) > int(h.InnerNH) && frame[h.InnerNH]>>4 == 6)
	outerMin, innerMin := l3min(ov6), l3min(iv6)
	oth, inh, cs := int(h.OuterTH), int(h.InnerNH), int(h.CsumStart)
	switch {
	case (etype == header.EtherTypeIPv6) != ov6:
		return nil, invalid("%s on an IPv%d outer header", t, map[bool]int{false: 4, true: 6}[!ov6])
	case oth < ol3+outerMin:
		return nil, invalid("outer_th_offset %d before the end of the outer IP header (%d)", oth, ol3+outerMin)
	case inh < oth+header.UDPSize:
		return nil, invalid("inner_nh_offset %d before the end of the outer UDP header (%d)", inh, oth+header.UDPSize)
	case cs < inh+innerMin:
		return nil, invalid("csum_start %d before the end of the inner IP header (%d)", cs, inh+innerMin)
	}
	wantOff, thlen := header.TCPChecksumOffset, header.TCPMinimumSize
	if inner == UDPL4 {
		wantOff, thlen = header.UDPChecksumOffset, header.UDPSize
	}
	if int(h.CsumOffset) != wantOff {
		return nil, invalid("inner csum_offset %d != %d", h.CsumOffset, wantOff)
	}
	if cs+thlen > len(frame) {
		return nil, invalid("inner transport header beyond the frame")
	}
	// The headers as the segmentation reads them.
	var oproto uint8
	if ov6 {
		ip := header.IPv6(frame[ol3:])
		off, p, st := ip.Transport()
		if st != header.ExtOK || ol3+off != oth {
			return nil, segFail("outer UDP header not at outer_th_offset %d", oth)
		}
		oproto = p
	} else {
		ip := header.IPv4(frame[ol3:])
		if ip.Version() != 4 || ol3+ip.HeaderLength() != oth {
			return nil, segFail("outer UDP header not at outer_th_offset %d", oth)
		}
		oproto = ip.Protocol()
	}
	if oproto != header.ProtoUDP {
		return nil, segFail("outer protocol %d is not UDP", oproto)
	}
	var iproto uint8
	if iv6 {
		ip := header.IPv6(frame[inh:])
		off, p, st := ip.Transport()
		if !ip.IsValid() || st != header.ExtOK || inh+off != cs {
			return nil, segFail("inner transport header not at csum_start %d", cs)
		}
		iproto = p
	} else {
		ip := header.IPv4(frame[inh:])
		if !ip.IsValid() || ip.Version() != 4 || inh+ip.HeaderLength() != cs {
			return nil, segFail("inner transport header not at csum_start %d", cs)
		}
		iproto = ip.Protocol()
	}
	want, _, _ := inner.transport()
	if iproto != want {
		return nil, segFail("%s header on an inner protocol %d packet", inner, iproto)
	}
	pOff := cs + thlen
	if len(frame)-pOff <= int(h.GSOSize) {
		return nil, segFail("inner payload %d not larger than gso_size %d", len(frame)-pOff, h.GSOSize)
	}
	var segs [][]byte
	var err error
	if inner == UDPL4 {
		if len(frame)-pOff > int(h.GSOSize)*MaxUSOSegments {
			return nil, invalid("USO payload needs more than %d segments", MaxUSOSegments)
		}
		segs, err = s.uso(frame, inh, cs, iv6, int(h.GSOSize))
	} else {
		segs, err = s.tcp(frame, inh, cs, iv6, int(h.GSOSize), true)
	}
	if err != nil || s.dry {
		return segs, err
	}
	uh := header.UDP(frame[oth:])
	seed := uh.Checksum()
	correct := header.Fold(header.PseudoHeaderSum(addresses(frame[ol3:oth], ov6), header.ProtoUDP, uint32(len(frame)-oth)))
	var id0 uint16
	if !ov6 {
		id0 = header.IPv4(frame[ol3:]).ID()
	}
	for k, seg := range segs {
		fixIP(seg, ol3, oth, ov6, id0+uint16(k))
		ulen := uint16(len(seg) - oth)
		header.UDP(seg[oth:]).SetLength(ulen)
		if h.Flags&UDPTunnelCsum != 0 {
			finishL4(seg, ol3, oth, ov6, header.ProtoUDP, seed, correct, uint32(ulen))
		}
	}
	return segs, nil
}

// l3min is the least network header of a version (virtio_l3min).
func l3min(v6 bool) int {
	if v6 {
		return header.IPv6MinimumSize
	}
	return header.IPv4MinimumSize
}
