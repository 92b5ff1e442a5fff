package probe

import (
	"fmt"
	"strings"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// KindForward is a case of the router in the middle: frames sent into a
// router (GRO at its ingress, routing, GSO or TSO at its egress) and what
// the receiver behind it must get.
const KindForward Kind = "forward"

// Expectations of a forward case.
const (
	// ForwardExact: every frame comes out with exactly the routing's
	// edits (TTL or hop limit −1, the IPv4 header checksum, the MACs).
	ForwardExact = "exact"
	// forwardDropped, with a counter's name, says where the router
	// throws the frames away.
	forwardDropped = "dropped by router "
)

// ForwardCase is one case of the forwarding matrix.
type ForwardCase struct {
	Name   string
	Frames []pcaps.Packet
	// Egress is the lab router's: "gso" (it cuts in software) or "tso"
	// (it passes GRO packets on whole; the receiver checks them).
	Egress string
	// GROList turns on fraglist GRO at the router's ingress.
	GROList bool
	// Whole sends the frames coalesced into super-packets of up to
	// MaxBytes (64 KiB if 0) that reach the router whole, as from a VM.
	Whole    bool
	MaxBytes int
	// BigTCP raises the router's GRO and GSO limits (0: 64 KiB).
	BigTCP int
	// SNAT: the router source-NATs what it forwards (conntrack, nf_nat).
	SNAT bool
	// Expect is ForwardExact or "dropped by router <IP counter>".
	Expect string
	Note   string
	// Before, when set, is what kernels older than Before.Since do.
	Before *ForwardBefore
}

// ForwardBefore is a case's expectation on kernels older than Since.
type ForwardBefore struct {
	Since  [2]int
	Expect string
}

// For gives the case's expectation on kernel major.minor.
func (c *ForwardCase) For(major, minor int) string {
	if b := c.Before; b != nil && older(major, minor, b.Since) {
		return b.Expect
	}
	return c.Expect
}

// Sent describes the case's frames and how they are sent.
func (c *ForwardCase) Sent() string {
	n := 0
	for _, p := range c.Frames {
		n += len(p.Data)
	}
	how := "frame by frame"
	if c.Whole {
		how = fmt.Sprintf("as super-packets of up to %d bytes", max(c.MaxBytes, 65535))
	}
	return fmt.Sprintf("%d frames, %d bytes, %s", len(c.Frames), n, how)
}

// ForwardAnyOrder: exact, in the order sent or not.
const ForwardAnyOrder = "exact, in any order"

// fraglisted are the GRO cases run again with fraglist GRO.
var fraglisted = map[string]bool{"udp_data_same": true, "udp_lrg_sml": true, "udp_sml_lrg": true, "udp_csum_zero": true}

// merged is how many frames GRO packets of these sizes hold behind their
// first.
func merged(packets []int) int {
	n := 0
	for _, k := range packets {
		n += max(k-1, 0)
	}
	return n
}

// ForwardCases builds the forwarding matrix: every GRO case forwarded
// by both egresses (the router must be transparent whatever its GRO
// merged, lossy merges included: the kernel keeps inside what a virtio
// header cannot say), the UDP cases again with fraglist GRO, and BIG TCP:
// a bulk train crossing in packets above 64 KiB, merged by the router's
// GRO or sent whole.
func ForwardCases() []ForwardCase {
	var out []ForwardCase
	for _, gc := range GROCases() {
		expect, lossless := gc.For(1<<30, 0)
		for _, eg := range []string{"gso", "tso"} {
			c := ForwardCase{Name: gc.Name + " via " + eg, Frames: gc.Frames, Egress: eg, Expect: ForwardExact}
			switch {
			case gc.AnyOrder:
				c.Expect, c.Note = ForwardAnyOrder, "GRO hands up a frame it refuses before the packet it holds: the router reorders the flow"
			case !lossless:
				c.Note = "its GRO packet is lossy as a virtio header tells it; the router keeps the frames exact"
			}
			out = append(out, c)
			if !fraglisted[strings.TrimSuffix(strings.TrimSuffix(gc.Name, "/v4"), "/v6")] {
				continue
			}
			c.Name, c.GROList = gc.Name+" fraglist via "+eg, true
			c.Note = "fraglist GRO (rx-gro-list) at the router's ingress"
			if behind := merged(expect); behind > 0 {
				// Seen on 6.18: only the first frame of a fraglist GRO
				// packet is routed; the others keep the TTL and header
				// checksum they came with.
				c.Expect = fmt.Sprintf("mismatched %d of %d: IPv4 TTL, IPv4 header checksum", behind, len(gc.Frames))
				c.Note += "; a defect: the frames after the first in each GRO packet leave with the TTL and checksum they came with (skb_segment_list copies only the first's MAC header; ip_forward decremented only the first's TTL)"
			}
			out = append(out, c)
		}
	}
	// NAT on the router: conntrack and nf_nat rewrite a GRO packet's
	// headers once before it is cut, by software GSO or fraglist
	// segmentation (the NAT breaks of a1e40ac5b5e9, 3382a1ed7f77,
	// daa624d3c2dd, b936a9b8d4a5). The flows are one-way, as conntrack
	// must see them to translate every frame.
	natted := map[string]bool{"data_same": true, "udp_data_same": true, "udp_lrg_sml": true}
	for _, gc := range GROCases() {
		base, _, _ := strings.Cut(gc.Name, "/")
		if !natted[base] {
			continue
		}
		for _, list := range []bool{false, true} {
			for _, eg := range []string{"gso", "tso"} {
				c := ForwardCase{Name: gc.Name + " snat via " + eg, Frames: gc.Frames, Egress: eg, SNAT: true, GROList: list, Expect: ForwardExact,
					Note: "source NAT at the router (nftables snat)"}
				if list {
					c.Name = gc.Name + " fraglist snat via " + eg
					c.Note += " after fraglist GRO"
					expect, _ := gc.For(1<<30, 0)
					if behind := merged(expect); behind > 0 {
						// The frames after the first keep their TTL, as
						// without NAT; their addresses and checksums are
						// translated (__udpv4_gso_segment_list_csum and
						// its TCP and IPv6 kin).
						fields := "IPv4 TTL, IPv4 header checksum"
						if gc.V6 {
							fields = "IPv6 hop limit"
						}
						c.Expect = fmt.Sprintf("mismatched %d of %d: %s", behind, len(gc.Frames), fields)
						c.Note += "; only the fraglist defect above: the frames after the first are translated but not routed"
					}
				}
				out = append(out, c)
			}
		}
	}
	const big = 262144
	for _, v6 := range []bool{false, true} {
		f, ver := craft.TCPBulk(), "v4"
		if v6 {
			f, ver = craft.TCPBulk6(), "v6"
		}
		frames := craft.Packets(craft.Flow(f, 400, nil))
		for _, eg := range []string{"gso", "tso"} {
			out = append(out, ForwardCase{Name: "big_tcp_gro/" + ver + " via " + eg, Frames: frames, Egress: eg, BigTCP: big, Expect: ForwardExact,
				Note: "the router's GRO may build packets above 64 KiB (gro_max_size 256 KiB)"})
			c := ForwardCase{Name: "big_tcp_whole/" + ver + " via " + eg, Frames: frames, Egress: eg, BigTCP: big, Whole: true, MaxBytes: big, Expect: ForwardExact,
				Note: "IPv4 total length 0 (Linux 6.3 and later)"}
			if v6 {
				c.Before = &ForwardBefore{Since: jumboGone, Expect: forwardDropped + "IPv6 Ip6InHdrErrors"}
				c.Note = "payload length 0: before 7.0 the router's IPv6 input wants a Hop-by-Hop jumbo option (ip6_rcv_core), and a packet socket cannot send one: " +
					"the sender's own kernel takes it off (a packet socket's GSO packet passes ipv6_gso_segment even when the device takes it whole)"
			}
			out = append(out, c)
		}
	}
	return out
}
