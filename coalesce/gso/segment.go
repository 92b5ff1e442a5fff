package gso

import (
	"errors"
	"fmt"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// The two ways a super-packet fails, as the kernel reports them.
var (
	// ErrInvalid: virtio_net_hdr_to_skb or packet_snd refuse the header;
	// send() fails with EINVAL.
	ErrInvalid = errors.New("virtio header rejected (EINVAL)")
	// ErrSegment: the header is accepted but segmentation fails and the
	// packet is dropped (ENOMEM on a noqueue device).
	ErrSegment = errors.New("segmentation failed (packet dropped)")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func segFail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSegment, fmt.Sprintf(format, args...))
}

// Limits of the kernel's segmentation.
const (
	// MaxUSOSegments is UDP_MAX_SEGMENTS: USO makes at most 128 datagrams.
	MaxUSOSegments = 128
	// MinTCPSize is TCP_MIN_GSO_SIZE: 7.x clamps a smaller TCP gso_size.
	MinTCPSize = 8
	// maxOutSegs bounds the segments of one super-packet (dev->gso_max_segs).
	maxOutSegs = 65535
)

// Segmenter is the reference software GSO: it turns a frame and its
// virtio_net_hdr into the frames Linux 6.18 puts on the wire when the device
// segments nothing (tso/gso/tx-csum off), following docs/kernel.md §1.3 and §2:
// virtio_net_hdr_to_skb's checks, then tcp_gso_segment, __udp_gso_segment or
// udp4_ufo_fragment. It reuses one buffer; the zero value is ready.
type Segmenter struct {
	buf  []byte
	segs [][]byte
	// jumbo holds a frame whose IPv6 jumbo header is taken off.
	jumbo []byte
	// Count sets dry: the checks run, the frames are only counted.
	dry   bool
	count int
}

// Count returns how many frames Segment would give for frame and h, or
// Segment's error, without building them: statistics at replay speed.
func (s *Segmenter) Count(frame []byte, lt layers.LinkType, h VnetHeader) (int, error) {
	s.dry, s.count = true, 0
	_, err := s.Segment(frame, lt, h)
	s.dry = false
	if err != nil {
		return 0, err
	}
	return s.count, nil
}

// transport is what a gso type segments.
func (t Type) transport() (proto uint8, thlen int, ok bool) {
	switch t.Base() {
	case None:
		return 0, 0, true
	case TCPv4, TCPv6:
		return header.ProtoTCP, header.TCPMinimumSize, true
	case UDP, UDPL4:
		return header.ProtoUDP, header.UDPSize, true
	}
	return 0, 0, false
}

// Segment returns the frames the kernel would send for frame with header h.
// The returned slices are valid until the next call.
func (s *Segmenter) Segment(frame []byte, lt layers.LinkType, h VnetHeader) ([][]byte, error) {
	s.buf = s.buf[:0]
	s.segs = s.segs[:0]
	if h.GSOType.Tunnel() != 0 {
		return s.tunnel(frame, lt, h)
	}
	gso := h.GSOType.Base()
	wantProto, thlen, ok := gso.transport()
	if !ok {
		return nil, invalid("undefined gso_type %d", h.GSOType)
	}
	if gso != None && (h.GSOSize == 0 || h.GSOSize == 0xffff) {
		return nil, invalid("gso_size %d", h.GSOSize)
	}
	needsCsum := h.Flags&NeedsCsum != 0
	hdrLen := int(h.HdrLen)
	if needsCsum {
		// __packet_snd_vnet_parse raises hdr_len to cover the checksum field.
		hdrLen = max(hdrLen, int(h.CsumStart)+int(h.CsumOffset)+2)
	}
	if hdrLen > len(frame) {
		return nil, invalid("hdr_len %d beyond the %d-byte frame", hdrLen, len(frame))
	}
	if lt == layers.LinkTypeEthernet && !header.Ethernet(frame).IsValid() {
		return nil, invalid("frame of %d bytes is shorter than an Ethernet header", len(frame))
	}
	l3, etype, st := header.Network(frame, lt)
	thoff := -1
	if needsCsum {
		cs, co := int(h.CsumStart), int(h.CsumOffset)
		if cs+max(thlen, co+2) > len(frame) {
			return nil, invalid("csum_start %d + csum_offset %d beyond the frame", cs, co)
		}
		minOff := header.IPv4MinimumSize
		if gso == TCPv6 {
			minOff = header.IPv6MinimumSize
		}
		if gso != None && cs < minOff {
			return nil, invalid("csum_start %d < %d", cs, minOff)
		}
		switch {
		case (gso == TCPv4 || gso == TCPv6) && co != header.TCPChecksumOffset:
			return nil, invalid("TCP csum_offset %d != 16", co)
		case gso == UDPL4 && co != header.UDPChecksumOffset:
			return nil, invalid("USO csum_offset %d != 6", co)
		}
		thoff = cs
	} else if gso != None {
		if gso == UDPL4 {
			return nil, invalid("USO without NEEDS_CSUM")
		}
		if st != header.LinkOK {
			return nil, invalid("flow dissector cannot find the transport header")
		}
		if l3 > header.EthernetSize && lt == layers.LinkTypeEthernet {
			// 6.18 parses the headers before the virtio header and the
			// dissector then misreads tagged frames (docs/kernel.md §1.3).
			return nil, invalid("VLAN-tagged frame without NEEDS_CSUM (6.18)")
		}
	}
	if gso == UDPL4 && h.GSOType&ECN != 0 {
		return nil, invalid("USO with the ECN bit")
	}
	if gso == None {
		return s.single(frame, h), nil
	}

	// Find the network and transport headers the way the GSO handlers do.
	if st != header.LinkOK {
		return nil, segFail("no IPv4/IPv6 header: %v", st)
	}
	v6 := etype == header.EtherTypeIPv6
	if (gso == TCPv4 && v6) || (gso == TCPv6 && !v6) || (gso == UDP && v6) {
		return nil, segFail("%s on an IPv%d frame", gso, map[bool]int{false: 4, true: 6}[v6])
	}
	// Lengths in the super-packet's IP header are don't-care (docs/kernel.md §1.5).
	var l4 int
	var proto uint8
	if v6 {
		ip := header.IPv6(frame[l3:])
		if !ip.IsValid() {
			return nil, segFail("IPv6 header beyond the frame")
		}
		if ip.BigTCPJumbo() {
			// ipv6_gso_segment (6.0 to 6.19) first takes off the jumbo
			// header BIG TCP put there; csum_start moves with the bytes.
			s.jumbo = append(append(s.jumbo[:0], frame[:l3+header.IPv6MinimumSize]...), frame[l3+header.IPv6MinimumSize+header.IPv6JumboSize:]...)
			frame, ip = s.jumbo, header.IPv6(s.jumbo[l3:])
			ip.SetNextHeader(header.ProtoTCP)
			if thoff >= 0 {
				thoff -= header.IPv6JumboSize
			}
		}
		off, p, st := ip.Transport()
		if st != header.ExtOK {
			return nil, segFail("IPv6 extension headers: %v", st)
		}
		l4, proto = l3+off, p
	} else {
		// Not IsValid: an IHL beyond the frame fails below, as the kernel's
		// own checks order it.
		ip := header.IPv4(frame[l3:])
		if len(ip) < header.IPv4MinimumSize || ip.Version() != 4 || ip.HeaderLength() < header.IPv4MinimumSize {
			return nil, segFail("malformed IPv4 header")
		}
		l4, proto = l3+ip.HeaderLength(), ip.Protocol()
	}
	if proto != wantProto {
		return nil, segFail("%s header on a protocol %d packet", gso, proto)
	}
	if thoff < 0 {
		thoff = l4
	} else if thoff != l4 {
		return nil, segFail("csum_start %d is not the transport header (%d)", thoff, l4)
	}
	if thoff+thlen > len(frame) {
		return nil, segFail("transport header beyond the frame")
	}
	// virtio_net_hdr_to_skb: too small to be GSO (TCP options count as payload).
	pOff := thoff + thlen
	if gso == UDP {
		pOff = thoff
	}
	if len(frame)-pOff <= int(h.GSOSize) {
		return s.single(frame, h), nil
	}
	if gso == UDPL4 && len(frame)-pOff > int(h.GSOSize)*MaxUSOSegments {
		return nil, invalid("USO payload needs more than %d segments", MaxUSOSegments)
	}
	switch gso {
	case TCPv4, TCPv6:
		return s.tcp(frame, l3, thoff, v6, int(h.GSOSize), needsCsum)
	case UDPL4:
		return s.uso(frame, l3, thoff, v6, int(h.GSOSize))
	default:
		return s.ufo(frame, l3, thoff, int(h.GSOSize))
	}
}

// single is the non-GSO path: the frame leaves as it is, its checksum
// finished by skb_checksum_help if NEEDS_CSUM (which writes 0 as 0xFFFF).
func (s *Segmenter) single(frame []byte, h VnetHeader) [][]byte {
	if s.dry {
		s.count = 1
		return nil
	}
	s.buf = append(s.buf, frame...)
	out := s.buf
	if h.Flags&NeedsCsum != 0 {
		cs, at := int(h.CsumStart), int(h.CsumStart)+int(h.CsumOffset)
		c := ^header.Fold(header.Sum(out[cs:], 0))
		if c == 0 {
			c = 0xffff
		}
		out[at], out[at+1] = byte(c>>8), byte(c)
	}
	s.segs = append(s.segs, out)
	return s.segs
}

// emit appends one segment: the header bytes of the super-packet followed by
// a slice of its payload.
func (s *Segmenter) emit(hdr, payload []byte) []byte {
	start := len(s.buf)
	s.buf = append(s.buf, hdr...)
	s.buf = append(s.buf, payload...)
	seg := s.buf[start:len(s.buf):len(s.buf)]
	s.segs = append(s.segs, seg)
	return seg
}

func (s *Segmenter) grow(n int) {
	if cap(s.buf) < n {
		s.buf = make([]byte, 0, n)
	}
}

// LenOrZero is an IP length field's value for n bytes: 0 above 65535, as
// BIG TCP and GSO super-packets write it.
func LenOrZero(n int) uint16 {
	if n > 0xffff {
		return 0
	}
	return uint16(n)
}

// addresses are the pseudo-header's addresses of the IP header ip.
func addresses(ip []byte, v6 bool) []byte {
	if v6 {
		return header.IPv6(ip).Addresses()
	}
	return header.IPv4(ip).Addresses()
}

// fixIP writes the per-segment IP fields (inet_gso_segment, ipv6_gso_segment):
// length, IPv4 ID0+k, header checksum.
func fixIP(seg []byte, l3, thoff int, v6 bool, id uint16) {
	if v6 {
		header.IPv6(seg[l3:]).SetPayloadLength(LenOrZero(len(seg) - l3 - header.IPv6MinimumSize))
		return
	}
	ip := header.IPv4(seg[l3:thoff])
	ip.SetTotalLength(LenOrZero(len(seg) - l3))
	ip.SetID(id)
	ip.UpdateChecksum()
}

// finishL4 writes the final checksum of a segment's TCP or UDP header the way
// gso_make_checksum does: from the super-packet's seed moved from the old to
// the new length. With the right seed this is the true checksum; a wrong seed
// is carried into every segment, as the kernel does.
func finishL4(seg []byte, l3, thoff int, v6 bool, proto uint8, seed, seedOld uint16, newLen uint32) {
	l4 := seg[thoff:]
	off := header.ChecksumOffset(proto)
	acc := header.PseudoHeaderSum(addresses(seg[l3:thoff], v6), proto, newLen)
	acc += uint64(seed) + uint64(^seedOld) // seed - correct seed, ones' complement
	acc = header.Sum(l4[:off], acc)
	acc = header.Sum(l4[off+2:], acc)
	c := ^header.Fold(acc)
	if c == 0 && proto == header.ProtoUDP {
		c = 0xffff // CSUM_MANGLED_0
	}
	l4[off], l4[off+1] = byte(c>>8), byte(c)
}

// tcp is tcp_gso_segment: seq0+k·mss, FIN/PSH only on the last segment, CWR
// only on the first, every other header byte copied.
func (s *Segmenter) tcp(frame []byte, l3, thoff int, v6 bool, mss int, needsCsum bool) ([][]byte, error) {
	th := header.TCP(frame[thoff:])
	doff := th.DataOffset()
	if doff < header.TCPMinimumSize || thoff+doff > len(frame) {
		return nil, segFail("TCP data offset %d", doff)
	}
	hdrEnd := thoff + doff
	payload := frame[hdrEnd:]
	if len(payload) <= mss {
		return nil, segFail("TCP payload %d not larger than gso_size %d", len(payload), mss)
	}
	n := (len(payload) + mss - 1) / mss
	if n > maxOutSegs {
		return nil, segFail("%d segments", n)
	}
	if s.dry {
		s.count = n
		return nil, nil
	}
	oldLen := uint32(len(frame) - thoff)
	correct := header.Fold(header.PseudoHeaderSum(addresses(frame[l3:thoff], v6), header.ProtoTCP, oldLen))
	seed := correct // without NEEDS_CSUM the kernel resets the seed
	if needsCsum {
		seed = th.Checksum()
	}
	var id0 uint16
	if !v6 {
		id0 = header.IPv4(frame[l3:]).ID()
	}
	seq0 := th.SequenceNumber()
	flags := th.Flags()
	s.grow(n*hdrEnd + len(payload))
	for k := 0; k < n; k++ {
		chunk := payload[k*mss : min((k+1)*mss, len(payload))]
		seg := s.emit(frame[:hdrEnd], chunk)
		fixIP(seg, l3, thoff, v6, id0+uint16(k))
		st := header.TCP(seg[thoff:])
		st.SetSequenceNumber(seq0 + uint32(k*mss))
		f := flags
		if k < n-1 {
			f &^= header.TCPFlagFIN | header.TCPFlagPSH
		}
		if k > 0 {
			f &^= header.TCPFlagCWR
		}
		st.SetFlags(f)
		finishL4(seg, l3, thoff, v6, header.ProtoTCP, seed, correct, uint32(len(seg)-thoff))
	}
	return s.segs, nil
}

// uso is __udp_gso_segment: every datagram gets the UDP header with its own
// length and checksum, IPv4 ID0+k.
func (s *Segmenter) uso(frame []byte, l3, thoff int, v6 bool, mss int) ([][]byte, error) {
	hdrEnd := thoff + header.UDPSize
	payload := frame[hdrEnd:]
	if len(payload) <= mss {
		return nil, segFail("UDP payload %d not larger than gso_size %d", len(payload), mss)
	}
	n := (len(payload) + mss - 1) / mss
	if s.dry {
		s.count = n
		return nil, nil
	}
	uh := header.UDP(frame[thoff:])
	seed := uh.Checksum()
	correct := header.Fold(header.PseudoHeaderSum(addresses(frame[l3:thoff], v6), header.ProtoUDP, uint32(uh.Length())))
	var id0 uint16
	if !v6 {
		id0 = header.IPv4(frame[l3:]).ID()
	}
	s.grow(n*hdrEnd + len(payload))
	for k := 0; k < n; k++ {
		chunk := payload[k*mss : min((k+1)*mss, len(payload))]
		seg := s.emit(frame[:hdrEnd], chunk)
		fixIP(seg, l3, thoff, v6, id0+uint16(k))
		ulen := uint16(header.UDPSize + len(chunk))
		header.UDP(seg[thoff:]).SetLength(ulen)
		finishL4(seg, l3, thoff, v6, header.ProtoUDP, seed, correct, uint32(ulen))
	}
	return s.segs, nil
}

// ufo is udp4_ufo_fragment: the whole datagram's UDP checksum, then IPv4
// fragments of mss bytes of IP payload sharing ID0; the fragment field is
// rewritten (DF is lost).
func (s *Segmenter) ufo(frame []byte, l3, thoff int, mss int) ([][]byte, error) {
	dgram := frame[thoff:]
	if len(dgram) > 0xffff {
		return nil, segFail("UDP datagram of %d bytes", len(dgram))
	}
	if s.dry {
		s.count = (len(dgram) + mss - 1) / mss
		return nil, nil
	}
	// The kernel fills the checksum over the datagram as it stands (with
	// uh->len as given), 0 written as 0xFFFF.
	s.grow(2*len(frame) + (len(dgram)/mss+1)*thoff)
	work := s.emit(frame, nil)
	s.segs = s.segs[:0]
	ip := header.IPv4(work[l3:thoff])
	header.UDP(work[thoff:]).SetChecksum(header.TransportChecksum(ip.Addresses(), header.ProtoUDP, work[thoff:]))
	data := work[thoff:]
	n := (len(data) + mss - 1) / mss
	for k := 0; k < n; k++ {
		chunk := data[k*mss : min((k+1)*mss, len(data))]
		seg := s.emit(work[:thoff], chunk)
		sip := header.IPv4(seg[l3:thoff])
		sip.SetFragment(k*mss, k < n-1)
		sip.SetTotalLength(uint16(len(seg) - l3))
		sip.UpdateChecksum()
	}
	return s.segs, nil
}
