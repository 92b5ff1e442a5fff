package probe

import (
	"fmt"
	"strings"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// KindGRO is a receive-side case: frames sent back to back into a
// receiver running GRO, and the packets GRO must hand up.
const KindGRO Kind = "gro"

// GROCase is one GRO conformance case, named after the kernel selftest
// tools/testing/selftests/net/lib/gro.c where it has a counterpart: the
// frames sent and, in order, how many of them each packet GRO hands up
// holds (1: a frame alone), as Linux's GRO code decides (inet_gro_receive,
// ipv6_gro_receive, tcp_gro_receive, udp_gro_receive in 6.18).
type GROCase struct {
	Name   string
	V6     bool
	Frames []pcaps.Packet
	Expect []int
	// Lossless: every GRO packet's reference segmentation gives back the
	// frames it replaced (false where GRO merges what the virtio header
	// cannot describe).
	Lossless bool
	// AnyOrder: the packets may come up in another order (a frame GRO
	// refuses goes up at once, before the packet it holds).
	AnyOrder bool
	Note     string
	// Before, when set, is what kernels older than Before.Since do.
	Before *GROBefore
}

// GROBefore is a case's expectation on kernels older than Since.
type GROBefore struct {
	Since    [2]int
	Expect   []int
	Lossless bool
}

// For gives the case's expectation on kernel major.minor.
func (c *GROCase) For(major, minor int) ([]int, bool) {
	if b := c.Before; b != nil && older(major, minor, b.Since) {
		return b.Expect, b.Lossless
	}
	return c.Expect, c.Lossless
}

// Sent describes the case's frames.
func (c *GROCase) Sent() string {
	n := 0
	for _, p := range c.Frames {
		n += len(p.Data)
	}
	return fmt.Sprintf("%d frames, %d bytes", len(c.Frames), n)
}

// ExpectString is the expectation on kernel major.minor as the report
// shows it.
func (c *GROCase) ExpectString(major, minor int) string {
	e, lossless := c.For(major, minor)
	return groString(e, lossless)
}

func groString(segs []int, lossless bool) string {
	if lossless {
		return segsString(segs) + ", lossless"
	}
	return segsString(segs) + ", lossy"
}

func segsString(v []int) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = fmt.Sprint(n)
	}
	return "packets of [" + strings.Join(parts, " ") + "] frames"
}

// GROCases builds the GRO matrix: each case its own flow (source port),
// TCP over IPv4 and IPv6 where the case applies, a few UDP cases.
func GROCases() []GROCase {
	var out []GROCase
	port := uint16(41000)
	base := func(v6 bool) craft.Frame {
		f := craft.TCPBulk()
		f.V6 = v6
		f.Payload = craft.Payload(1000, 0)
		f.Sport = port
		port++
		return f
	}
	pk := func(fs []craft.Frame) []pcaps.Packet { return craft.Packets(fs) }
	flow := func(v6 bool, n int, mut func(k int, f *craft.Frame)) []pcaps.Packet {
		return pk(craft.Flow(base(v6), n, mut))
	}
	add := func(name string, v6 bool, frames []pcaps.Packet, expect []int, lossless, anyOrder bool, note string) {
		fam := "v4"
		if v6 {
			fam = "v6"
		}
		out = append(out, GROCase{Name: name + "/" + fam, V6: v6, Frames: frames, Expect: expect, Lossless: lossless, AnyOrder: anyOrder, Note: note})
	}
	size := func(sizes ...int) func(k int, f *craft.Frame) {
		return func(k int, f *craft.Frame) { f.Payload = craft.Payload(sizes[k], byte(k)) }
	}
	flag := func(at int, fl uint8) func(k int, f *craft.Frame) {
		return func(k int, f *craft.Frame) {
			if k == at {
				f.Flags |= fl
			}
		}
	}
	for _, v6 := range []bool{false, true} {
		add("data_same", v6, flow(v6, 3, nil), []int{3}, true, false, "segments of one size merge")
		add("data_lrg_sml", v6, flow(v6, 2, size(1000, 500)), []int{2}, true, false, "a shorter last segment merges and ends the packet")
		add("data_lrg_1byte", v6, flow(v6, 2, size(1000, 1)), []int{2}, true, false, "a 1-byte last segment merges too")
		add("data_sml_lrg", v6, flow(v6, 2, size(500, 1000)), []int{1, 1}, true, false, "a segment longer than the first (its gso_size) cannot merge")
		add("data_burst", v6, flow(v6, 12, nil), []int{12}, true, false, "a burst of one flow merges whole")
		add("ack", v6, flow(v6, 3, size(1000, 0, 1000)), []int{1, 1, 1}, true, false, "a pure ACK flushes the flow and goes up alone")
		add("flags_psh", v6, flow(v6, 3, flag(1, craft.PSH)), []int{2, 1}, true, false, "PSH merges, then ends the packet")
		add("flags_syn", v6, flow(v6, 3, flag(1, craft.SYN)), []int{1, 1, 1}, true, false, "flags that differ flush; SYN goes up alone")
		add("flags_rst", v6, flow(v6, 3, flag(1, craft.RST)), []int{1, 1, 1}, true, false, "RST likewise")
		add("flags_urg", v6, flow(v6, 3, flag(1, craft.URG)), []int{1, 1, 1}, true, false, "URG likewise")
		add("flags_cwr", v6, flow(v6, 3, flag(1, craft.CWR)), []int{1, 1, 1}, true, false, "CWR after the first flushes and goes up alone")
		add("tcp_csum", v6, flow(v6, 2, func(k int, f *craft.Frame) { f.BadL4 = k == 1 }), []int{1, 1}, true, true,
			"a bad checksum is not merged: it goes up at once, before the packet GRO holds")
		add("data_padded", v6, flow(v6, 2, func(k int, f *craft.Frame) {
			if k == 1 {
				f.Payload, f.Padding = craft.Payload(4, 1), 20
			}
		}), []int{1, 1}, true, false, "Ethernet padding after the IP packet prevents merging (its length must be the frame's)")
		add("tcp_seq", v6, flow(v6, 2, func(k int, f *craft.Frame) {
			if k == 1 {
				f.Seq += 1
			}
		}), []int{1, 1}, true, false, "a gap in the sequence flushes")
		add("tcp_ts", v6, flow(v6, 2, func(k int, f *craft.Frame) {
			if k == 1 {
				f.TCPOpts = []byte{1, 1, 8, 10, 0, 0, 0x10, 1, 0, 0, 0x20, 0}
			}
		}), []int{1, 1}, true, false, "timestamps that differ flush")
		add("tcp_opt", v6, flow(v6, 2, func(k int, f *craft.Frame) {
			if k == 1 {
				f.TCPOpts = []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
			}
		}), []int{1, 1}, true, false, "other options flush")
		add("ip_ecn", v6, flow(v6, 2, func(k int, f *craft.Frame) {
			if k == 1 {
				f.TOS |= 1
			}
		}), []int{1, 1}, true, false, "ECN bits that differ flush")
		add("ip_tos", v6, flow(v6, 2, func(k int, f *craft.Frame) {
			if k == 1 {
				f.TOS = 0x10 << 2
			}
		}), []int{1, 1}, true, false, "a TOS / traffic class that differs flushes")
		add("ip_ttl", v6, flow(v6, 2, func(k int, f *craft.Frame) {
			if k == 1 {
				f.TTL = 63
			}
		}), []int{1, 1}, true, false, "a TTL / hop limit that differs flushes")
		add("large_max", v6, flow(v6, 66, nil), []int{65, 1}, true, false, "the packet stops below gro_max_size (64 KiB)")
		add("large_rem", v6, flow(v6, 65, func(k int, f *craft.Frame) {
			if k == 64 {
				f.Payload = craft.Payload(500, 9)
			}
		}), []int{65}, true, false, "64 KiB with a shorter last segment")
	}
	// IPv4 only.
	add("ip_opt", false, flow(false, 3, func(_ int, f *craft.Frame) { f.IPOpts = []byte{1, 1, 1, 0} }), []int{1, 1, 1}, true, false,
		"IPv4 options: GRO takes only a 20-byte header")
	frag := base(false)
	frag.Proto, frag.TCPOpts, frag.Payload = craft.UDP, nil, craft.Payload(2500, 3)
	add("ip_frag4", false, craft.Fragments(frag, nil, 1008), []int{1, 1, 1}, true, false, "fragments are not merged")
	ids := func(df bool, id ...uint16) []pcaps.Packet {
		return flow(false, len(id), func(k int, f *craft.Frame) { f.DF, f.ID = df, id[k] })
	}
	add("ip_id_df1_inc", false, ids(true, 10, 11, 12), []int{3}, true, false, "DF and incrementing IDs merge")
	add("ip_id_df1_fixed", false, ids(true, 10, 10, 10), []int{3}, false, false,
		"DF and a fixed ID merge (SKB_GSO_TCP_FIXEDID), but the virtio header cannot say so: the segmentation increments the IDs")
	add("ip_id_df0_inc", false, ids(false, 10, 11, 12), []int{3}, true, false, "no DF, incrementing IDs merge")
	add("ip_id_df0_fixed", false, ids(false, 10, 10, 10), []int{3}, false, false,
		"no DF and a fixed ID merge too since 6.18 (older kernels required DF): lossy as with DF")
	out[len(out)-1].Before = &GROBefore{Since: [2]int{6, 18}, Expect: []int{1, 1, 1}, Lossless: true}
	add("ip_id_df1_inc_fixed", false, ids(true, 10, 11, 11), []int{2, 1}, true, false, "incrementing, then fixed: the change flushes")
	add("ip_id_df1_fixed_inc", false, ids(true, 10, 10, 11), []int{2, 1}, false, false,
		"fixed, then incrementing: the change flushes; the fixed pair is lossy as above")
	// IPv6 only.
	f6 := base(true)
	f6.Fragment = true
	add("ip_frag6", true, pk([]craft.Frame{f6, f6, f6}), []int{1, 1, 1}, true, false, "IPv6 fragments are not merged")
	ext := func(second []byte) []pcaps.Packet {
		return flow(true, 3, func(k int, f *craft.Frame) {
			f.Ext = []byte{0, 0, 1, 4, 0, 0, 0, 0}
			if k == 2 && second != nil {
				f.Ext = second
			}
		})
	}
	add("ip_v6ext_same", true, ext(nil), []int{3}, true, false, "the same extension headers merge")
	add("ip_v6ext_diff", true, ext([]byte{0, 0, 1, 4, 1, 1, 1, 1}), []int{2, 1}, true, false, "different extension headers flush")
	// UDP, merged for forwarding (rx-udp-gro-forwarding).
	udp := func(n int, mut func(k int, f *craft.Frame)) []pcaps.Packet {
		b := base(false)
		b.Proto, b.TCPOpts = craft.UDP, nil
		return pk(craft.Flow(b, n, mut))
	}
	add("udp_data_same", false, udp(3, nil), []int{3}, true, false, "UDP datagrams of one size merge (USO)")
	add("udp_lrg_sml", false, udp(2, size(1000, 500)), []int{2}, true, false, "a shorter last datagram merges")
	add("udp_sml_lrg", false, udp(2, size(500, 1000)), []int{1, 1}, true, false, "a longer datagram cannot merge")
	add("udp_csum_zero", false, udp(3, func(_ int, f *craft.Frame) { f.ZeroUDP = true }), []int{1, 1, 1}, true, false,
		"UDP checksum 0: no GRO")
	return out
}
