package coalesce

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
)

// Meta is what a coalesced record carries besides its frame: the virtio
// header and what is needed to put its segments back where and when they
// were captured.
type Meta struct {
	Vnet gso.VnetHeader
	// Segs is the number of original frames in the record.
	Segs int
	// Deltas[k] is the time in nanoseconds from segment k to segment k+1
	// (len Segs-1); the record's timestamp is segment 0's.
	Deltas []int64
	// Skips[k] is how many packets of other flows the capture held between
	// segment k and k+1 (len Segs-1, or nil when all are 0).
	Skips []int32
}

// AppendComment writes m in the comment syntax, one line of space-separated
// key=value tokens after the word "vnet":
//
//	vnet flags=needs_csum gso=tcpv4 gso_size=1448 hdr_len=66 csum_start=34 csum_offset=16 segs=45 dt=1200,1180,... skip=0,0,3,...
//
// flags is none or a |-list of needs_csum, data_valid, rsc_info,
// udp_tunnel_csum; gso is none, tcpv4, tcpv6, udp, udp_l4 (+ecn), after
// udp_tunnel_ipv4+ or udp_tunnel_ipv6+ for a UDP tunnel super-packet, which
// then has outer_th and inner_nh (outer_th_offset, inner_nh_offset)
// after csum_offset; dt lists the
// nanoseconds between consecutive segments; skip, present only when not all
// zero, the packets of other flows between them. Numbers are decimal.
func AppendComment(dst []byte, m *Meta) []byte {
	h := &m.Vnet
	dst = append(dst, "vnet flags="...)
	dst = h.Flags.Append(dst)
	dst = append(dst, " gso="...)
	dst = append(dst, h.GSOType.String()...)
	dst = appendKV(dst, " gso_size=", int64(h.GSOSize))
	dst = appendKV(dst, " hdr_len=", int64(h.HdrLen))
	dst = appendKV(dst, " csum_start=", int64(h.CsumStart))
	dst = appendKV(dst, " csum_offset=", int64(h.CsumOffset))
	if h.GSOType.Tunnel() != 0 {
		dst = appendKV(dst, " outer_th=", int64(h.OuterTH))
		dst = appendKV(dst, " inner_nh=", int64(h.InnerNH))
	}
	dst = appendKV(dst, " segs=", int64(m.Segs))
	if len(m.Deltas) > 0 {
		dst = append(dst, " dt="...)
		for i, d := range m.Deltas {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, d, 10)
		}
	}
	if len(m.Skips) > 0 {
		dst = append(dst, " skip="...)
		for i, s := range m.Skips {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, int64(s), 10)
		}
	}
	return dst
}

func appendKV(dst []byte, k string, v int64) []byte {
	return strconv.AppendInt(append(dst, k...), v, 10)
}

// ErrComment is wrapped by every error of ParseComment.
var ErrComment = errors.New("bad vnet comment")

// ParseComment reads a comment written by AppendComment into m, reusing m's
// slices. It reports false, nil for a comment that is not a vnet comment.
// Unknown keys are ignored so that later versions can add some.
func ParseComment(s string, m *Meta) (bool, error) {
	if !strings.HasPrefix(s, CommentPrefix) {
		return false, nil
	}
	*m = Meta{Deltas: m.Deltas[:0], Skips: m.Skips[:0], Segs: 1}
	var sawDt, sawSkip bool
	rest := s[len(CommentPrefix):]
	for len(rest) > 0 {
		var tok string
		if i := strings.IndexByte(rest, ' '); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			tok, rest = rest, ""
		}
		if tok == "" {
			continue
		}
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			return true, fmt.Errorf("%w: token %q has no '='", ErrComment, tok)
		}
		var err error
		switch k {
		case "flags":
			m.Vnet.Flags, err = gso.ParseFlags(v)
		case "gso":
			m.Vnet.GSOType, err = gso.ParseType(v)
		case "gso_size":
			m.Vnet.GSOSize, err = parseU16(v)
		case "hdr_len":
			m.Vnet.HdrLen, err = parseU16(v)
		case "csum_start":
			m.Vnet.CsumStart, err = parseU16(v)
		case "csum_offset":
			m.Vnet.CsumOffset, err = parseU16(v)
		case "outer_th":
			m.Vnet.OuterTH, err = parseU16(v)
		case "inner_nh":
			m.Vnet.InnerNH, err = parseU16(v)
		case "segs":
			var n uint64
			n, err = strconv.ParseUint(v, 10, 32)
			if err == nil && (n < 1 || n > MaxSegs) {
				err = fmt.Errorf("out of range 1..%d", MaxSegs)
			}
			m.Segs = int(n)
		case "dt":
			sawDt = true
			err = parseList(v, func(x int64) error {
				if len(m.Deltas) >= MaxSegs {
					return errors.New("too many values")
				}
				m.Deltas = append(m.Deltas, x)
				return nil
			})
		case "skip":
			sawSkip = true
			err = parseList(v, func(x int64) error {
				if x < 0 || x > 1<<30 || len(m.Skips) >= MaxSegs {
					return errors.New("value out of range")
				}
				m.Skips = append(m.Skips, int32(x))
				return nil
			})
		}
		if err != nil {
			return true, fmt.Errorf("%w: %s: %v", ErrComment, k, err)
		}
	}
	if sawDt && len(m.Deltas) != m.Segs-1 {
		return true, fmt.Errorf("%w: dt has %d values for %d segments", ErrComment, len(m.Deltas), m.Segs)
	}
	if !sawDt {
		for len(m.Deltas) < m.Segs-1 {
			m.Deltas = append(m.Deltas, 0)
		}
	}
	if sawSkip && len(m.Skips) != m.Segs-1 {
		return true, fmt.Errorf("%w: skip has %d values for %d segments", ErrComment, len(m.Skips), m.Segs)
	}
	return true, nil
}

func parseU16(v string) (uint16, error) {
	n, err := strconv.ParseUint(v, 10, 16)
	return uint16(n), err
}

func parseList(v string, add func(int64) error) error {
	for len(v) > 0 {
		var item string
		if i := strings.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			item, v = v, ""
		}
		x, err := strconv.ParseInt(item, 10, 64)
		if err != nil {
			return err
		}
		if err := add(x); err != nil {
			return err
		}
	}
	return nil
}

// SetVnet fills m for a record of a vnet file (virtio header bytes vnet,
// then frame): the header, and the segments seg would make of it — 1 when
// the kernel would refuse the header, so that the send is still tried and
// its failure counted. Such files have no timing: no deltas or skips.
func (m *Meta) SetVnet(seg *gso.Segmenter, vnet, frame []byte, lt layers.LinkType) error {
	h, err := gso.DecodeVnet(vnet)
	if err != nil {
		return err
	}
	m.Vnet, m.Segs = h, 1
	m.Deltas, m.Skips = m.Deltas[:0], m.Skips[:0]
	if n, err := seg.Count(frame, lt, h); err == nil {
		m.Segs = n
	}
	return nil
}
