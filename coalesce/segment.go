package coalesce

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gopacket/gopacket/layers"
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

// maxOutSegs bounds the segments of one super-packet (dev->gso_max_segs).
const maxOutSegs = 65535

// Segmenter is the reference software GSO: it turns a frame and its
// virtio_net_hdr into the frames Linux 6.18 puts on the wire when the device
// segments nothing (tso/gso/tx-csum off), following kernel-gso.md §1.3 and §2:
// virtio_net_hdr_to_skb's checks, then tcp_gso_segment, __udp_gso_segment or
// udp4_ufo_fragment. It reuses one buffer; the zero value is ready.
type Segmenter struct {
	buf  []byte
	segs [][]byte
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

// VnetMeta fills m for a record of a vnet file (virtio header bytes vnet,
// then frame): the header, and the segments Segment would make of it — 1
// when the kernel would refuse the header, so that the send is still tried
// and its failure counted. Such files have no timing: no deltas or skips.
func (s *Segmenter) VnetMeta(vnet, frame []byte, lt layers.LinkType, m *Meta) error {
	h, err := DecodeVnetHeader(vnet)
	if err != nil {
		return err
	}
	m.Vnet, m.Segs = h, 1
	m.Deltas, m.Skips = m.Deltas[:0], m.Skips[:0]
	if n, err := s.Count(frame, lt, h); err == nil {
		m.Segs = n
	}
	return nil
}

// Segment returns the frames the kernel would send for frame with header h.
// The returned slices are valid until the next call.
func (s *Segmenter) Segment(frame []byte, lt layers.LinkType, h VnetHeader) ([][]byte, error) {
	s.buf = s.buf[:0]
	s.segs = s.segs[:0]
	gso := h.GSOType &^ GSOECN
	var thlen int
	switch gso {
	case GSONone:
	case GSOTCPv4, GSOTCPv6:
		thlen = 20
	case GSOUDP, GSOUDPL4:
		thlen = 8
	default:
		return nil, invalid("undefined gso_type %d", h.GSOType)
	}
	if gso != GSONone && (h.GSOSize == 0 || h.GSOSize == 0xffff) {
		return nil, invalid("gso_size %d", h.GSOSize)
	}
	needsCsum := h.Flags&VnetNeedsCsum != 0
	hdrLen := int(h.HdrLen)
	if needsCsum {
		// __packet_snd_vnet_parse raises hdr_len to cover the checksum field.
		hdrLen = max(hdrLen, int(h.CsumStart)+int(h.CsumOffset)+2)
	}
	if hdrLen > len(frame) {
		return nil, invalid("hdr_len %d beyond the %d-byte frame", hdrLen, len(frame))
	}
	if lt == layers.LinkTypeEthernet && len(frame) < 14 {
		return nil, invalid("frame of %d bytes is shorter than an Ethernet header", len(frame))
	}
	l3, etype, r := networkOffset(frame, lt)
	thoff := -1
	if needsCsum {
		cs, co := int(h.CsumStart), int(h.CsumOffset)
		if cs+max(thlen, co+2) > len(frame) {
			return nil, invalid("csum_start %d + csum_offset %d beyond the frame", cs, co)
		}
		minOff := 20
		if gso == GSOTCPv6 {
			minOff = 40
		}
		if gso != GSONone && cs < minOff {
			return nil, invalid("csum_start %d < %d", cs, minOff)
		}
		switch {
		case (gso == GSOTCPv4 || gso == GSOTCPv6) && co != 16:
			return nil, invalid("TCP csum_offset %d != 16", co)
		case gso == GSOUDPL4 && co != 6:
			return nil, invalid("USO csum_offset %d != 6", co)
		}
		thoff = cs
	} else if gso != GSONone {
		if gso == GSOUDPL4 {
			return nil, invalid("USO without NEEDS_CSUM")
		}
		if r != ReasonNone {
			return nil, invalid("flow dissector cannot find the transport header")
		}
		if l3 > 14 && lt == layers.LinkTypeEthernet {
			// 6.18 parses the headers before the virtio header and the
			// dissector then misreads tagged frames (kernel-gso.md §1.3).
			return nil, invalid("VLAN-tagged frame without NEEDS_CSUM (6.18)")
		}
	}
	if gso == GSOUDPL4 && h.GSOType&GSOECN != 0 {
		return nil, invalid("USO with the ECN bit")
	}
	if gso == GSONone {
		return s.single(frame, h), nil
	}

	// Find the network and transport headers the way the GSO handlers do.
	if r != ReasonNone {
		return nil, segFail("no IPv4/IPv6 header: %v", r)
	}
	v6 := etype == etherTypeIPv6
	if (gso == GSOTCPv4 && v6) || (gso == GSOTCPv6 && !v6) || (gso == GSOUDP && v6) {
		return nil, segFail("%s on an IPv%d frame", GSOName(gso), map[bool]int{false: 4, true: 6}[v6])
	}
	// Lengths in the super-packet's IP header are don't-care (§1.5).
	var l4 int
	var proto uint8
	ip := frame[l3:]
	if v6 {
		if len(ip) < 40 {
			return nil, segFail("IPv6 header beyond the frame")
		}
		off, p, r := locate6(ip)
		if r != ReasonNone {
			return nil, segFail("IPv6 extension headers: %v", r)
		}
		l4, proto = l3+off, p
	} else {
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[0]&0x0f < 5 {
			return nil, segFail("malformed IPv4 header")
		}
		l4, proto = l3+int(ip[0]&0x0f)*4, ip[9]
	}
	wantProto := uint8(protoTCP)
	if thlen == 8 {
		wantProto = protoUDP
	}
	if proto != wantProto {
		return nil, segFail("%s header on a protocol %d packet", GSOName(gso), proto)
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
	if gso == GSOUDP {
		pOff = thoff
	}
	if len(frame)-pOff <= int(h.GSOSize) {
		return s.single(frame, h), nil
	}
	if gso == GSOUDPL4 && len(frame)-pOff > int(h.GSOSize)*maxUSOSegments {
		return nil, invalid("USO payload needs more than %d segments", maxUSOSegments)
	}
	switch gso {
	case GSOTCPv4, GSOTCPv6:
		return s.tcp(frame, l3, thoff, v6, int(h.GSOSize), needsCsum)
	case GSOUDPL4:
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
	if h.Flags&VnetNeedsCsum != 0 {
		cs, at := int(h.CsumStart), int(h.CsumStart)+int(h.CsumOffset)
		c := ^fold(sum(out[cs:], 0))
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(out[at:], c)
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

// fixIP writes the per-segment IP fields (inet_gso_segment, ipv6_gso_segment):
// length, IPv4 ID0+k, header checksum.
func fixIP(seg []byte, l3, thoff int, v6 bool, id uint16) {
	ip := seg[l3:thoff]
	if v6 {
		binary.BigEndian.PutUint16(ip[4:6], uint16(lenOrZero(len(seg)-l3-40)))
		return
	}
	binary.BigEndian.PutUint16(ip[2:4], uint16(lenOrZero(len(seg)-l3)))
	binary.BigEndian.PutUint16(ip[4:6], id)
	binary.BigEndian.PutUint16(ip[10:12], ipv4HeaderChecksum(ip))
}

// finishL4 writes the final checksum of a segment's TCP or UDP header the way
// gso_make_checksum does: from the super-packet's seed moved from the old to
// the new length. With the right seed this is the true checksum; a wrong seed
// is carried into every segment, as the kernel does.
func finishL4(seg []byte, l3, thoff int, v6 bool, proto uint8, seed, seedOld uint16, newLen uint32) {
	ip, l4 := seg[l3:thoff], seg[thoff:]
	off := 16
	if proto == protoUDP {
		off = 6
	}
	acc := pseudoSum(ip, v6, proto, newLen)
	acc += uint64(seed) + uint64(^seedOld) // seed - correct seed, ones' complement
	acc = sum(l4[:off], acc)
	acc = sum(l4[off+2:], acc)
	c := ^fold(acc)
	if c == 0 && proto == protoUDP {
		c = 0xffff // CSUM_MANGLED_0
	}
	binary.BigEndian.PutUint16(l4[off:], c)
}

// tcp is tcp_gso_segment: seq0+k·mss, FIN/PSH only on the last segment, CWR
// only on the first, every other header byte copied.
func (s *Segmenter) tcp(frame []byte, l3, thoff int, v6 bool, mss int, needsCsum bool) ([][]byte, error) {
	th := frame[thoff:]
	doff := int(th[12]>>4) * 4
	if doff < 20 || thoff+doff > len(frame) {
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
	correct := fold(pseudoSum(frame[l3:thoff], v6, protoTCP, oldLen))
	seed := correct // without NEEDS_CSUM the kernel resets the seed
	if needsCsum {
		seed = binary.BigEndian.Uint16(th[16:18])
	}
	var id0 uint16
	if !v6 {
		id0 = binary.BigEndian.Uint16(frame[l3+4:])
	}
	seq0 := binary.BigEndian.Uint32(th[4:8])
	flags := th[13]
	s.grow(n*hdrEnd + len(payload))
	for k := 0; k < n; k++ {
		chunk := payload[k*mss : min((k+1)*mss, len(payload))]
		seg := s.emit(frame[:hdrEnd], chunk)
		fixIP(seg, l3, thoff, v6, id0+uint16(k))
		st := seg[thoff:]
		binary.BigEndian.PutUint32(st[4:8], seq0+uint32(k*mss))
		f := flags
		if k < n-1 {
			f &^= tcpFIN | tcpPSH
		}
		if k > 0 {
			f &^= tcpCWR
		}
		st[13] = f
		finishL4(seg, l3, thoff, v6, protoTCP, seed, correct, uint32(len(seg)-thoff))
	}
	return s.segs, nil
}

// uso is __udp_gso_segment: every datagram gets the UDP header with its own
// length and checksum, IPv4 ID0+k.
func (s *Segmenter) uso(frame []byte, l3, thoff int, v6 bool, mss int) ([][]byte, error) {
	hdrEnd := thoff + 8
	payload := frame[hdrEnd:]
	if len(payload) <= mss {
		return nil, segFail("UDP payload %d not larger than gso_size %d", len(payload), mss)
	}
	n := (len(payload) + mss - 1) / mss
	if s.dry {
		s.count = n
		return nil, nil
	}
	uh := frame[thoff:]
	storedLen := binary.BigEndian.Uint16(uh[4:6])
	seed := binary.BigEndian.Uint16(uh[6:8])
	correct := fold(pseudoSum(frame[l3:thoff], v6, protoUDP, uint32(storedLen)))
	var id0 uint16
	if !v6 {
		id0 = binary.BigEndian.Uint16(frame[l3+4:])
	}
	s.grow(n*hdrEnd + len(payload))
	for k := 0; k < n; k++ {
		chunk := payload[k*mss : min((k+1)*mss, len(payload))]
		seg := s.emit(frame[:hdrEnd], chunk)
		fixIP(seg, l3, thoff, v6, id0+uint16(k))
		ulen := uint16(8 + len(chunk))
		binary.BigEndian.PutUint16(seg[thoff+4:], ulen)
		finishL4(seg, l3, thoff, v6, protoUDP, seed, correct, uint32(ulen))
	}
	return s.segs, nil
}

// ufo is udp4_ufo_fragment: the whole datagram's UDP checksum, then IPv4
// fragments of mss bytes of IP payload sharing ID0; the fragment field is
// rewritten (DF is lost).
func (s *Segmenter) ufo(frame []byte, l3, thoff int, mss int) ([][]byte, error) {
	dgram := frame[thoff:]
	ulen := uint32(len(dgram))
	if ulen > 0xffff {
		return nil, segFail("UDP datagram of %d bytes", ulen)
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
	ip := work[l3:thoff]
	c := l4Checksum(ip, false, protoUDP, work[thoff:])
	binary.BigEndian.PutUint16(work[thoff+6:], c)
	data := work[thoff:]
	n := (len(data) + mss - 1) / mss
	for k := 0; k < n; k++ {
		chunk := data[k*mss : min((k+1)*mss, len(data))]
		seg := s.emit(work[:thoff], chunk)
		sip := seg[l3:thoff]
		fo := uint16(k * mss / 8)
		if k < n-1 {
			fo |= 0x2000 // MF
		}
		binary.BigEndian.PutUint16(sip[6:8], fo)
		binary.BigEndian.PutUint16(sip[2:4], uint16(len(seg)-l3))
		binary.BigEndian.PutUint16(sip[10:12], ipv4HeaderChecksum(sip))
	}
	return s.segs, nil
}
