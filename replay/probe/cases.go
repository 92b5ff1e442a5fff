package probe

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/superpacket"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// Kind is what a case checks.
type Kind string

// Case kinds.
const (
	// KindSegmentation: a super-packet the coalescer makes, whose segments
	// must equal the reference segmenter's byte for byte.
	KindSegmentation Kind = "segmentation"
	// KindValidation: a header the kernel must refuse (an errno) or accept,
	// from docs/kernel.md §4.
	KindValidation Kind = "validation"
	// KindSegmentationTap and KindValidationTap are the same checks for
	// what is written to a tap (tun_get_user, the path a VM's virtio-net
	// packets take): UDP tunnel super-packets, which only a tap takes, and
	// the validation cases again, since a tap's writer is as untrusted as
	// a packet socket's.
	KindSegmentationTap Kind = "segmentation-tap"
	KindValidationTap   Kind = "validation-tap"
)

// Tap reports whether the kind's cases are written to a tap.
func (k Kind) Tap() bool { return k == KindSegmentationTap || k == KindValidationTap }

// Outcome is what a send should lead to, or led to.
type Outcome struct {
	// Errno is the name of the error send returned; "" when it was accepted.
	Errno string
	// Segments is how many frames left; -1 when the count is not checked.
	Segments int
}

func (o Outcome) String() string {
	switch {
	case o.Errno != "":
		return o.Errno
	case o.Segments < 0:
		return "accepted"
	case o.Segments == 0:
		return "accepted, nothing left"
	}
	return fmt.Sprintf("accepted, %d segments", o.Segments)
}

// Expectation is an outcome from a kernel version on.
type Expectation struct {
	Since   [2]int // major, minor
	Outcome Outcome
	// Exact compares every segment byte for byte with the reference
	// segmenter's.
	Exact bool
}

// Case is one conformance check: a super-packet (or a malformed one)
// and what the kernel must make of it.
type Case struct {
	Name  string
	Kind  Kind
	Frame []byte
	Vnet  gso.VnetHeader
	// Expect, oldest first; the newest whose Since is not after the
	// running kernel applies.
	Expect []Expectation
	Note   string
	// TapHeader is the virtio header a tap case is written with:
	// gso.VnetHeaderLen, or gso.VnetTunnelHeaderLen, which a tap takes
	// from Linux 6.17 ("tun: enable gso over UDP tunnel support") and
	// which older kernels skip the case for.
	TapHeader int
}

// Sent describes what the case sends: its size and its header in the
// comment syntax ("vnet flags=needs_csum gso=tcpv4 ...").
func (c *Case) Sent() string {
	var m coalesce.Meta
	m.Vnet, m.Segs = c.Vnet, 1
	s := strings.TrimSuffix(string(coalesce.AppendComment(nil, &m)), " segs=1")
	if c.Kind.Tap() {
		return fmt.Sprintf("%d-byte frame, %s, written to a tap with the %d-byte header", len(c.Frame), s, c.TapHeader)
	}
	return fmt.Sprintf("%d-byte frame, %s", len(c.Frame), s)
}

// ExpectFor picks the expectation for kernel version major.minor: the
// newest whose Since is not after it.
func (c *Case) ExpectFor(major, minor int) Expectation {
	e := c.Expect[0]
	for _, x := range c.Expect[1:] {
		if !older(major, minor, x.Since) {
			e = x
		}
	}
	return e
}

// jumboGone is the first kernel whose BIG TCP has no IPv6 jumbo option
// ("BIG TCP without HBH in IPv6", merged for Linux 7.0).
var jumboGone = [2]int{7, 0}

// older reports whether kernel major.minor came before since.
func older(major, minor int, since [2]int) bool {
	return major < since[0] || major == since[0] && minor < since[1]
}

// KernelVersion parses "6.18.44-foo" into 6, 18.
func KernelVersion(release string) (major, minor int, ok bool) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minorStr := parts[1]
	if i := strings.IndexFunc(minorStr, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorStr = minorStr[:i]
	}
	minor, err2 := strconv.Atoi(minorStr)
	return major, minor, err1 == nil && err2 == nil
}

// super coalesces crafted segments into one super-packet.
func super(segs []craft.Frame, o coalesce.Options) ([]byte, gso.VnetHeader, error) {
	return superpacket.Merge(craft.Packets(segs), o)
}

// caseList collects cases made of crafted segments merged into one
// super-packet, keeping the first error.
type caseList struct {
	cases []Case
	err   error
}

// add merges segs with o into a case of kind that must meet expect; mut,
// if set, then changes its frame or header (a malformed one). It returns
// the case added, nil after an error.
func (l *caseList) add(name string, kind Kind, segs []craft.Frame, o coalesce.Options, expect []Expectation, mut func(frame []byte, h *gso.VnetHeader) []byte) *Case {
	frame, h, err := super(segs, o)
	if err != nil {
		if l.err == nil {
			l.err = fmt.Errorf("probe case %s: %w", name, err)
		}
		return nil
	}
	if mut != nil {
		frame = mut(frame, &h)
	}
	l.cases = append(l.cases, Case{Name: name, Kind: kind, Frame: frame, Vnet: h, Expect: expect})
	return &l.cases[len(l.cases)-1]
}

func accepted(n int) []Expectation {
	return []Expectation{{Outcome: Outcome{Segments: n}, Exact: true}}
}
func refused(errno string) []Expectation {
	return []Expectation{{Outcome: Outcome{Errno: errno, Segments: 0}}}
}
func countOnly(n int) []Expectation { return []Expectation{{Outcome: Outcome{Segments: n}}} }

// Cases builds the matrix: segmentation cases checked byte for byte
// against the reference segmenter, and the validation cases of
// docs/kernel.md §4 with the errno (or drop) each must give, by packet
// socket and again through a tap; then the UDP tunnel cases, through a tap.
func Cases() ([]Case, error) {
	var l caseList
	add := func(name string, kind Kind, segs []craft.Frame, o coalesce.Options, expect []Expectation, mut func(frame []byte, h *gso.VnetHeader) []byte) {
		l.add(name, kind, segs, o, expect, mut)
	}
	d := coalesce.DefaultOptions()
	big := d
	big.MaxBytes, big.MaxSegments, big.MaxSpan = 1<<20, 128, 0
	tcp := craft.TCPBulk()
	noOpts := tcp
	noOpts.TCPOpts, noOpts.Payload = nil, craft.Payload(1460, 0)
	v6 := craft.TCPBulk6()
	v6.FlowLabel = 0x54321
	v6NoOpts := v6
	v6NoOpts.TCPOpts, v6NoOpts.Payload = nil, craft.Payload(1440, 0)
	flow := func(base craft.Frame, n int, mut func(k int, p *craft.Frame)) []craft.Frame {
		return craft.Flow(base, n, mut)
	}
	noCsum := func(frame []byte, h *gso.VnetHeader) []byte {
		h.Flags, h.CsumStart, h.CsumOffset = 0, 0, 0
		return frame
	}
	seg := KindSegmentation
	add("tcpv4", seg, flow(tcp, 45, nil), d, accepted(45), nil)
	add("tcpv4 without options", seg, flow(noOpts, 44, nil), d, accepted(44), nil)
	add("tcpv4 without NEEDS_CSUM", seg, flow(tcp, 20, nil), d, accepted(20), noCsum)
	add("tcpv6", seg, flow(v6, 45, nil), d, accepted(45), nil)
	add("tcpv6 without options", seg, flow(v6NoOpts, 45, nil), d, accepted(45), nil)
	add("tcpv6 without NEEDS_CSUM", seg, flow(v6, 20, nil), d, accepted(20), noCsum)
	add("tcpv4 short last segment with PSH|FIN", seg, flow(tcp, 10, func(k int, p *craft.Frame) {
		if k == 9 {
			p.Payload, p.Flags = craft.Payload(333, 9), p.Flags|craft.PSH|craft.FIN
		}
	}), d, accepted(10), nil)
	add("tcpv4 CWR on the first segment", seg, flow(tcp, 10, func(k int, p *craft.Frame) {
		if k == 0 {
			p.Flags |= craft.CWR
		}
	}), d, accepted(10), nil)
	add("tcpv4 ECE on every segment", seg, flow(tcp, 10, func(k int, p *craft.Frame) { p.Flags |= craft.ECE }), d, accepted(10), nil)
	wrap := tcp
	wrap.ID = 0xfff0
	add("tcpv4 IPv4 ID wrap-around", seg, flow(wrap, 40, nil), d, accepted(40), nil)
	opts := tcp
	opts.IPOpts, opts.Payload = []byte{0x94, 4, 0, 0}, craft.Payload(1444, 0)
	add("tcpv4 IPv4 options", seg, flow(opts, 30, nil), d, accepted(30), nil)
	ext := v6
	ext.Ext, ext.Payload = make([]byte, 8), craft.Payload(1420, 0)
	add("tcpv6 extension header and flow label", seg, flow(ext, 30, nil), d, accepted(30), nil)
	vlan := tcp
	vlan.VLANs = []uint16{craft.TPID8021Q}
	add("tcpv4 802.1Q", seg, flow(vlan, 30, nil), d, accepted(30), nil)
	qinq := tcp
	qinq.VLANs = []uint16{craft.TPID8021AD, craft.TPID8021Q}
	add("tcpv4 QinQ", seg, flow(qinq, 30, nil), d, accepted(30), nil)
	vlan6 := v6
	vlan6.VLANs = []uint16{craft.TPID8021Q}
	add("tcpv6 802.1Q", seg, flow(vlan6, 30, nil), d, accepted(30), nil)
	add("tcpv4 super-packet above 64 KiB", seg, flow(tcp, 60, nil), big, accepted(60), nil)
	add("tcpv6 super-packet above 64 KiB", seg, flow(v6, 60, nil), big, accepted(60), nil)
	// BIG TCP: 128 and 256 KiB; a size whose pages would need 18 of the
	// skb's 17 fragments (sent, as replay sends it, with a longer linear
	// part: internal/afpacket.Linear); and about 1 MiB, coalesce's most.
	bigTCP := big
	bigTCP.MaxSegments = coalesce.MaxSegs
	for _, c := range []struct {
		name   string
		base   craft.Frame
		counts []int
	}{{"tcpv4", tcp, []int{91, 181, 358, 724}}, {"tcpv6", v6, []int{92, 184, 362, 734}}} {
		for _, n := range c.counts {
			add(fmt.Sprintf("%s BIG TCP %d segments", c.name, n), seg, flow(c.base, n, nil), bigTCP, accepted(n), nil)
		}
	}
	// The jumbo option as Linux 6.0 to 6.19 hold BIG TCP: their GSO takes
	// it off; 7.0's copies it into every segment, as any extension header.
	jumbo := bigTCP
	jumbo.IPv6Jumbo = true
	for _, n := range []int{92, 184} {
		name := fmt.Sprintf("tcpv6 BIG TCP %d segments, Hop-by-Hop jumbo option", n)
		if c := l.add(name, seg, flow(v6, n, nil), jumbo,
			[]Expectation{{Outcome: Outcome{Segments: n}, Exact: true}, {Since: jumboGone, Outcome: Outcome{Segments: n}}}, nil); c != nil {
			c.Note = "ipv6_gso_segment takes the jumbo option off before 7.0 (ipv6_hopopt_jumbo_remove)"
		}
	}
	udp := craft.UDPBulk()
	udp6 := udp
	udp6.V6 = true
	add("uso v4", seg, flow(udp, 40, nil), d, accepted(40), nil)
	add("uso v6", seg, flow(udp6, 40, nil), d, accepted(40), nil)
	small := udp
	small.Payload = craft.Payload(400, 0)
	add("uso v4 128 segments", seg, flow(small, 128, nil), big, accepted(128), nil)
	vlanUDP := udp
	vlanUDP.VLANs = []uint16{craft.TPID8021Q}
	add("uso v4 802.1Q", seg, flow(vlanUDP, 20, nil), d, accepted(20), nil)
	add("uso v4 short last datagram", seg, flow(udp, 10, func(k int, p *craft.Frame) {
		if k == 9 {
			p.Payload = craft.Payload(77, 9)
		}
	}), d, accepted(10), nil)
	// UFO: one 4000-byte datagram in fragments of 1480.
	ufo := udp
	ufo.Payload = craft.Payload(4000, 5)
	if f := ufo.Bytes(); true {
		l.cases = append(l.cases, Case{Name: "ufo v4 (IPv4 fragments)", Kind: seg, Frame: f,
			Vnet: gso.VnetHeader{GSOType: gso.UDP, GSOSize: 1480}, Expect: accepted(3)})
	}
	// As coalesce writes a fragment train: NEEDS_CSUM, which also lets 6.18
	// take a tagged frame, and DF clear as fragments have it.
	ufoTagged := ufo
	ufoTagged.VLANs, ufoTagged.DF = []uint16{craft.TPID8021Q}, false
	l.cases = append(l.cases, Case{Name: "ufo v4 802.1Q with NEEDS_CSUM", Kind: seg, Frame: ufoTagged.Bytes(),
		Vnet: gso.VnetHeader{Flags: gso.NeedsCsum, GSOType: gso.UDP, GSOSize: 1480, HdrLen: 46,
			CsumStart: 38, CsumOffset: 6}, Expect: accepted(3)})
	ufoOpts := ufo
	ufoOpts.IPOpts, ufoOpts.DF = []byte{0x94, 4, 0, 0}, false // router alert
	l.cases = append(l.cases, Case{Name: "ufo v4 IPv4 options with NEEDS_CSUM", Kind: seg, Frame: ufoOpts.Bytes(),
		Vnet: gso.VnetHeader{Flags: gso.NeedsCsum, GSOType: gso.UDP, GSOSize: 1480, HdrLen: 46,
			CsumStart: 38, CsumOffset: 6}, Expect: accepted(3)})

	// Validation: the base of docs/kernel.md §4, 3000 bytes in 3 segments of
	// 1000, NEEDS_CSUM 34/16, hdr_len 66.
	base := tcp
	base.Payload = craft.Payload(1000, 0)
	val := func(name string, expect []Expectation, mut func(frame []byte, h *gso.VnetHeader) []byte) {
		add(name, KindValidation, flow(base, 3, nil), d, expect, mut)
	}
	setType := func(t gso.Type) func([]byte, *gso.VnetHeader) []byte {
		return func(f []byte, h *gso.VnetHeader) []byte { h.GSOType = t; return f }
	}
	setSize := func(n uint16) func([]byte, *gso.VnetHeader) []byte {
		return func(f []byte, h *gso.VnetHeader) []byte { h.GSOSize = n; return f }
	}
	val("gso_type 2 (undefined)", refused("EINVAL"), setType(2))
	val("gso_type 6 (undefined)", refused("EINVAL"), setType(6))
	val("gso_type TCPV4|0x10 (AccECN bit)", refused("EINVAL"), setType(gso.TCPv4|0x10))
	val("gso_type TCPV4|0x20 (UDP tunnel)", refused("EINVAL"), setType(gso.TCPv4|0x20))
	val("gso_type TCPV4|ECN", accepted(3), setType(gso.TCPv4|gso.ECN))
	val("gso_size 0", refused("EINVAL"), setSize(0))
	val("gso_size 0xFFFF (GSO_BY_FRAGS)", refused("EINVAL"), setSize(0xffff))
	val("gso_size 7 (below TCP_MIN_GSO_SIZE)", []Expectation{
		{Outcome: Outcome{Segments: 429}},
		{Since: [2]int{7, 2}, Outcome: Outcome{Segments: 375}},
	}, setSize(7))
	val("gso_size = payload (not GSO for TCP)", refused("ENOMEM"), setSize(3000))
	val("gso_size 2990", accepted(2), setSize(2990))
	val("hdr_len 0", accepted(3), func(f []byte, h *gso.VnetHeader) []byte { h.HdrLen = 0; return f })
	val("hdr_len beyond the frame", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.HdrLen = uint16(len(f) + 1); return f })
	val("csum_start beyond the frame", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.CsumStart = uint16(len(f) - 4); return f })
	val("csum_offset 6 with TCPV4", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.CsumOffset = 6; return f })
	val("csum_start 14 (before the IP header's end)", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.CsumStart = 14; return f })
	val("TCPV6 on an IPv4 frame", refused("EINVAL"), setType(gso.TCPv6))
	val("csum_start 20 (inside the IP header)", refused("ENOMEM"), func(f []byte, h *gso.VnetHeader) []byte { h.CsumStart = 20; return f })
	val("UDP_L4 on a TCP frame", refused("EINVAL"), setType(gso.UDPL4))
	val("DATA_VALID instead of NEEDS_CSUM", accepted(3), func(f []byte, h *gso.VnetHeader) []byte {
		h.Flags, h.CsumStart, h.CsumOffset = gso.DataValid, 0, 0
		return f
	})
	val("garbage checksum seed with NEEDS_CSUM", countOnly(3), func(f []byte, h *gso.VnetHeader) []byte {
		f[int(h.CsumStart)+16] ^= 0x5a
		return f
	})
	val("IPv4 total length 0 in the super-packet", accepted(3), func(f []byte, h *gso.VnetHeader) []byte {
		binary.BigEndian.PutUint16(f[16:], 0)
		return f
	})
	val("13-byte frame", refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { *h = gso.VnetHeader{}; return f[:13] })
	val("gso_type NONE, frame above the MTU", refused("EMSGSIZE"), func(f []byte, h *gso.VnetHeader) []byte { *h = gso.VnetHeader{}; return f })
	vlanBase := base
	vlanBase.VLANs = []uint16{craft.TPID8021Q}
	add("802.1Q without NEEDS_CSUM", KindValidation, flow(vlanBase, 3, nil), d, refused("EINVAL"), noCsum)
	tcpOnUDP := udp
	tcpOnUDP.Payload = craft.Payload(1000, 0)
	add("TCPV4 on a UDP frame", KindValidation, flow(tcpOnUDP, 3, nil), d, refused("ENOMEM"), func(f []byte, h *gso.VnetHeader) []byte {
		h.GSOType, h.CsumOffset = gso.TCPv4, 16
		return f
	})
	add("UDP_L4 without NEEDS_CSUM", KindValidation, flow(tcpOnUDP, 3, nil), d, refused("EINVAL"), noCsum)
	add("UDP_L4|ECN", KindValidation, flow(tcpOnUDP, 3, nil), d, refused("EINVAL"), setType(gso.UDPL4|gso.ECN))
	add("UDP_L4 csum_offset 16", KindValidation, flow(tcpOnUDP, 3, nil), d, refused("EINVAL"), func(f []byte, h *gso.VnetHeader) []byte { h.CsumOffset = 16; return f })
	// 128 datagrams of 400 bytes cut at 399: 129 segments.
	add("UDP_L4 with 129 segments", KindValidation, flow(small, 128, nil), big, refused("EINVAL"), setSize(399))
	for _, c := range l.cases {
		if c.Kind == KindValidation {
			l.cases = append(l.cases, tapValidation(c))
		}
	}
	tunnelCases(&l)
	return l.cases, l.err
}

// Result is one case's verdict. Expected and Observed end in exactSuffix
// when the segments are, or must be, the reference segmentation.
type Result struct {
	Name     string `json:"name"`
	Kind     Kind   `json:"kind"`
	Sent     string `json:"sent"`
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	Pass     bool   `json:"pass"`
	Detail   string `json:"detail,omitempty"`
	// Attempts, when above 1, is how often a GRO case was sent: timing
	// may cut GRO's packets (see RunGRO), so a case is sent up to three
	// times; the result is the last attempt's.
	Attempts int `json:"attempts,omitempty"`
	// Skipped: the running kernel cannot take the case (a tunnel case
	// before Linux 6.17); Pass is then true and Observed says why.
	Skipped bool `json:"skipped,omitempty"`
}

// Report is the whole matrix on one kernel.
type Report struct {
	Kernel string   `json:"kernel"`
	Note   string   `json:"note,omitempty"`
	Cases  []Result `json:"cases"`
	Failed int      `json:"failed"`
	// Skipped counts the cases this kernel cannot take (Result.Skipped).
	Skipped int `json:"skipped,omitempty"`
	// Interrupted: the probe was stopped (Ctrl-C) after Cases.
	Interrupted bool `json:"interrupted,omitempty"`
}

const exactSuffix = ", byte for byte the reference segmentation"

// Brief is Expected and Observed for a table: "exact" for the byte-for-byte
// comparison.
func (r *Result) Brief() (expected, observed string) {
	short := func(s string) string { return strings.Replace(s, exactSuffix, ", exact", 1) }
	return short(r.Expected), short(r.Observed)
}
