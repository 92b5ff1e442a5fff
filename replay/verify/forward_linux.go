package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/internal/pcapout"
	"github.com/gsoreplay/gsoreplay/replay/lab"
)

// ForwardOptions configure VerifyForward.
type ForwardOptions struct {
	// Iface and CaptureIface name existing interfaces with a router of
	// the user's between them (RouterMAC is then its address on Iface's
	// side); both empty builds a lab whose router runs GRO with
	// FlushTimeout and DeferIRQs at its ingress and Egress at its egress.
	Iface, CaptureIface string
	RouterMAC           net.HardwareAddr
	Egress              lab.Egress
	// GROList turns on fraglist GRO at the lab router's ingress.
	GROList      bool
	FlushTimeout time.Duration
	DeferIRQs    int
	// Coalesced sends the capture as super-packets that reach the lab
	// router whole (TSO at the sender's end, as from a VM or container):
	// its GRO passes them up unmerged, it routes them and its egress cuts
	// them. Without, frame by frame, as captured.
	Coalesced bool
	Coalesce  coalesce.Options
	Pacing    replay.Pacing // default: top speed
	Batch     int
	Capture   capture.Options
	// Keep, if set, is a directory for what the router's GRO made (a
	// coalesced pcapng) and what the receiver got.
	Keep string
	// Idle ends the captures when nothing came for this long (300 ms).
	Idle time.Duration
	// MTU of the sender and of the lab router's egress (1500 if 0).
	MTU int
	// BigTCP, if not 0, lets the lab router's GRO build packets of up to
	// this many bytes and its egress pass them on whole (lab.RouterOptions).
	BigTCP int
	// SNAT makes the lab router source-NAT what it forwards
	// (lab.RouterOptions.SNAT); the frames must come out with the
	// translation too.
	SNAT bool

	// expectEdit, in tests, changes each frame the receiver must get;
	// untranslated, in tests, leaves SNAT out of the expectations.
	expectEdit   func(frame []byte)
	untranslated bool
}

// ForwardReport is one input's verdict on the path through a router.
type ForwardReport struct {
	File     string     `json:"file"`
	Receiver string     `json:"receiver"`
	Egress   lab.Egress `json:"egress"`
	// Packets is the frames sent; Forwardable those a router forwards,
	// NotRouted the others by why.
	Packets     int64          `json:"packets"`
	Forwardable int            `json:"forwardable"`
	NotRouted   map[string]int `json:"not_routed,omitempty"`
	// Router is what the lab router's GRO made of the frames (nil on
	// existing interfaces: a router of the user's is not seen inside).
	Router *RouterGRO `json:"router_gro,omitempty"`
	// Received is what the receiver got; SuperPackets of them whole GSO
	// packets (egress tso), checked by their reference segmentation.
	Received     int `json:"received"`
	SuperPackets int `json:"super_packets"`
	// Exact, Mismatched and Missing classify the forwardable frames against
	// the frame sent with the routing's edits (Hop); Extra is what came
	// and was not expected; RouterOwn what the router sent of its own
	// (link-scope multicast), left out.
	Exact      int `json:"exact"`
	Mismatched int `json:"mismatched"`
	Missing    int `json:"missing"`
	Extra      int `json:"extra"`
	// Reordered counts frames that came after a frame of their flow sent
	// later (exact or not).
	Reordered int `json:"reordered,omitempty"`
	RouterOwn int `json:"router_own,omitempty"`
	// BrokenAtGRO counts mismatched frames inside a GRO packet of the
	// router's that was already lossy; BrokenAfterGRO those whose GRO
	// packet was lossless or that crossed GRO alone: routing or GSO broke
	// them.
	BrokenAtGRO    int               `json:"broken_at_gro"`
	BrokenAfterGRO int               `json:"broken_after_gro"`
	Drops          uint64            `json:"drops"`
	DropsBy        map[string]uint64 `json:"drops_by,omitempty"`
	Verdict        Verdict           `json:"verdict"`
	Details        []string          `json:"details,omitempty"`
	Seconds        float64           `json:"seconds"`
	Interrupted    bool              `json:"interrupted,omitempty"`
	// Series is the replay's (rates, send-time error; see replay.Series).
	Series *replay.Series `json:"series,omitempty"`
}

// RouterGRO is what the router's GRO handed up, checked as verify --gro
// checks it: every GRO packet's reference segmentation against the frames
// it replaced.
type RouterGRO struct {
	Received     int              `json:"received"`
	GROPackets   int              `json:"gro_packets"`
	GROMerged    int              `json:"gro_merged"`
	MeanSegments float64          `json:"mean_segments"`
	LargestBytes int              `json:"largest_bytes,omitempty"`
	Lossless     int              `json:"lossless"`
	Lossy        int              `json:"lossy"`
	Missing      int              `json:"missing"`
	Segmented    map[string]int64 `json:"gso_types,omitempty"`
}

// VerifyForward sends a capture into a router (the lab's: GRO at its
// ingress, routing, GSO or TSO at its egress), captures what comes out at
// the receiver and checks every frame against the frame sent with exactly
// the routing's edits (Hop). In the lab it also captures what the
// router's GRO made, so that a broken frame is placed: at GRO (a lossy
// merge) or after it (a lossless merge cut wrong, or a frame changed on
// its own).
func VerifyForward(ctx context.Context, name string, open replay.Opener, o ForwardOptions) (*ForwardReport, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	start := time.Now()
	tb, err := lab.NewTestbed(o.testbed())
	if err != nil {
		return nil, err
	}
	defer tb.Close()
	report := &ForwardReport{File: name, Receiver: tb.Where, Egress: o.Egress, NotRouted: map[string]int{}}
	hop := Hop{MTU: o.MTU}
	if o.SNAT && !o.untranslated {
		nat, err := rewrite.New(rewrite.Options{SrcIPMap: []rewrite.CIDRMap{
			{From: netip.MustParsePrefix("0.0.0.0/0"), To: netip.PrefixFrom(lab.SNAT4, 32)},
			{From: netip.MustParsePrefix("::/0"), To: netip.PrefixFrom(lab.SNAT6, 128)}}})
		if err != nil {
			return nil, err
		}
		hop.NAT = nat
	}
	routerIn := o.RouterMAC
	if r := routerOf(tb); r != nil {
		routerIn = r.InMAC
		copy(hop.Src[:], r.OutMAC)
		copy(hop.Dst[:], r.ReceiverMAC)
	} else if ifi, err := net.InterfaceByName(o.CaptureIface); err == nil && len(ifi.HardwareAddr) == 6 {
		copy(hop.Dst[:], ifi.HardwareAddr)
	}
	// Every frame goes to the router's address: it forwards only what is
	// sent to it, and replaces both MACs anyway.
	var dst rewrite.MAC
	copy(dst.Addr[:], routerIn)
	dst.Set = true
	toRouter := &rewrite.Options{DstMAC: [2]rewrite.MAC{dst, dst}}
	ro := replay.Options{Pacing: o.Pacing, Loops: 1, Batch: o.Batch, Threads: 1,
		Source: replay.SourceOptions{NoCoalesce: !o.Coalesced, Coalesce: o.Coalesce, MTU: o.MTU, Rewrite: toRouter}}
	sent, out, err := sendNoted(ctx, tb, name, open, ro, o.FlushTimeout, o.Idle, &report.DropsBy, &report.Drops, &report.Series)
	if err != nil {
		return nil, err
	}
	report.Packets = int64(len(sent))
	if report.DropsBy[lab.DropSoftnet] > 0 {
		report.detail("the receiver's backlog overflowed: the router handed it more frames at once than one CPU's backlog holds (net.core.netdev_max_backlog = %d); raise it (to 10000, say) or pace the replay (--mbps, --pps)", lab.BacklogLimit())
	}
	if report.DropsBy["router IPv6 Ip6InHdrErrors"] > 0 && o.Coalesced && o.Coalesce.MaxBytes > 0xffff {
		report.detail("IPv6 super-packets above 64 KiB reach the router with payload length 0 and no Hop-by-Hop jumbo option, which Linux before 7.0 drops at its IPv6 input; a packet socket cannot send the option (the sender's kernel takes it off: ipv6_gso_segment); keep IPv6 to --max-bytes 65535")
	}

	// What the router's GRO made of the frames sent.
	ingress := make([]int, len(sent)) // each frame's GRO group, -1 none
	for i := range ingress {
		ingress[i] = -1
	}
	var inGroups []groGroup
	var in GROReport
	if len(out) > 1 {
		// The router received each frame as rewritten for it.
		rw, err := rewrite.New(*toRouter)
		if err != nil {
			return nil, err
		}
		arrived := make([]frameRec, len(sent))
		for i, s := range sent {
			arrived[i] = frameRec{append([]byte(nil), s.data...), s.ts}
			rw.FrameInPlace(arrived[i].data, layers.LinkTypeEthernet, len(s.data), rewrite.Primary)
		}
		inGroups = in.check(arrived, out[1].Frames, out[1].Vnets, nil)
		for gi, g := range inGroups {
			for _, f := range g.frames {
				ingress[f] = gi
			}
		}
		report.Router = &RouterGRO{Received: in.Received, GROPackets: in.GROPackets, GROMerged: in.GROMerged,
			MeanSegments: in.MeanSegments, LargestBytes: in.LargestBytes, Lossless: in.Lossless, Lossy: in.Lossy, Missing: in.Missing, Segmented: in.Segmented}
		for _, d := range in.Details {
			report.detail("router GRO: %s", d)
		}
	}

	// What the receiver must get: each forwardable frame, routed.
	var want []frameRec
	var index []int // want[j] is sent[index[j]]
	for i, s := range sent {
		f, why := hop.Route(nil, s.data)
		if why != Routed {
			report.NotRouted[string(why)]++
			continue
		}
		if o.expectEdit != nil {
			o.expectEdit(f)
		}
		want = append(want, frameRec{f, s.ts})
		index = append(index, i)
	}
	report.Forwardable = len(want)
	if len(report.NotRouted) == 0 {
		report.NotRouted = nil
	}
	got, vnets := out[0].Frames, out[0].Vnets
	if r := routerOf(tb); r == nil && len(got) > 0 && len(got[0]) >= header.EthernetSize {
		// A router of the user's: its address is what its first frame says.
		copy(hop.Src[:], header.Ethernet(got[0]).Source())
		for j := range want {
			copy(want[j].data[6:12], hop.Src[:])
		}
	}
	got, vnets, report.RouterOwn = withoutRouterOwn(got, vnets)
	var eg GROReport
	outGroups := eg.check(want, got, vnets, func(j int) int { return index[j] + 1 })
	report.Received, report.SuperPackets = len(out[0].Frames), eg.GROPackets
	report.Missing, report.Extra, report.Reordered = eg.Missing, eg.Extra, eg.Reordered
	for _, g := range outGroups {
		for _, j := range g.bad {
			report.Mismatched++
			if gi := ingress[index[j]]; gi >= 0 && inGroups[gi].merged && !inGroups[gi].ok {
				report.BrokenAtGRO++
			} else {
				report.BrokenAfterGRO++
			}
		}
	}
	report.Exact = report.Forwardable - report.Mismatched - report.Missing
	for _, d := range eg.Details {
		report.detail("receiver: %s", d)
	}
	switch {
	case report.Drops > 0 || report.Missing > 0:
		report.Verdict = VerdictLost
	case report.Mismatched+report.Extra+report.Reordered+eg.Lossy > 0:
		report.Verdict = VerdictMismatch
	default:
		report.Verdict = VerdictExact
	}
	report.Seconds = time.Since(start).Seconds()
	if err := ctx.Err(); err != nil {
		report.Interrupted, report.Verdict = true, VerdictInterrupted
		return report, fmt.Errorf("interrupted after %d frames were sent: %w", report.Packets, err)
	}
	if o.Keep != "" {
		if len(out) > 1 {
			if err := keepGRO(o.Keep, name, sent, out[1].Frames, out[1].Vnets, inGroups); err != nil {
				return report, err
			}
		}
		if err := keepReceived(o.Keep, name, out[0]); err != nil {
			return report, err
		}
	}
	return report, nil
}

func (r *ForwardReport) detail(format string, args ...any) {
	if len(r.Details) < maxForwardDetails {
		r.Details = append(r.Details, fmt.Sprintf(format, args...))
	}
}

// maxForwardDetails: the router's and the receiver's details together.
const maxForwardDetails = 20

func routerOf(tb *lab.Testbed) *lab.Router {
	if tb.Lab == nil {
		return nil
	}
	return tb.Lab.Router
}

// withoutRouterOwn leaves out what the router sends of its own accord on
// its egress and never forwards: IPv6 to link-scope multicast (MLD
// reports, neighbour and router discovery).
func withoutRouterOwn(got [][]byte, vnets []gso.VnetHeader) ([][]byte, []gso.VnetHeader, int) {
	keep, kv, own := got[:0:0], vnets[:0:0], 0
	for i, f := range got {
		eth := header.Ethernet(f)
		if eth.IsValid() && eth.Type() == header.EtherTypeIPv6 {
			if ip := header.IPv6(f[header.EthernetSize:]); ip.IsValid() && ip.Destination()[0] == 0xff && ip.Destination()[1]&0x0f <= 2 {
				own++
				continue
			}
		}
		keep, kv = append(keep, f), append(kv, vnets[i])
	}
	return keep, kv, own
}

// keepReceived writes what the receiver got as a pcapng; super-packets
// (egress tso) carry their virtio header in a coalesce comment, so that
// gsoreplay segment turns the file into frames.
func keepReceived(dir, name string, out lab.Output) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	origin := capfile.Origin{Format: pcaps.FormatPcap, Nanosecond: true, SectionLength: -1}
	var seg gso.Segmenter
	var failed error
	frames := func(yield func(pcapout.Frame) bool) {
		for i, f := range out.Frames {
			fr := pcapout.Frame{Data: f, Time: out.Times[i]}
			if h := out.Vnets[i]; h.GSOType != gso.None {
				n, err := seg.Count(f, layers.LinkTypeEthernet, h)
				if err != nil {
					failed = errors.Join(failed, fmt.Errorf("received packet %d: %w", i+1, err))
					n = 1
				}
				m := coalesce.Meta{Vnet: h, Segs: n}
				fr.Comment = coalesce.AppendComment(nil, &m)
			}
			if !yield(fr) {
				return
			}
		}
	}
	if err := pcapout.Write(filepath.Join(dir, base+".forwarded.pcapng"), pcaps.WriterOptions{Comment: origin.String(), Application: "gsoreplay verify --forward"}, []string{"received"}, frames); err != nil {
		return err
	}
	return failed
}

// defaults fills what is left to defaults and validates the options.
func (o *ForwardOptions) defaults() error {
	sendDefaults(&o.Pacing, &o.Batch, &o.Idle)
	groDefaults(&o.FlushTimeout, &o.DeferIRQs)
	if o.MTU == 0 {
		o.MTU = 1500
	}
	return o.Validate()
}

// testbed is where the options send and capture.
func (o *ForwardOptions) testbed() lab.TestbedOptions {
	return lab.TestbedOptions{Iface: o.Iface, CaptureIface: o.CaptureIface, FlushTimeout: o.FlushTimeout, DeferIRQs: o.DeferIRQs,
		Capture: o.Capture, Forward: &lab.RouterOptions{Egress: o.Egress, GROList: o.GROList, MTU: o.MTU, BigTCP: o.BigTCP, WholeIn: o.Coalesced, SNAT: o.SNAT}}
}

// Validate reports the first option out of range, as GROOptions.Validate
// does; existing interfaces need the router's MAC.
func (o ForwardOptions) Validate() error {
	if err := o.testbed().Validate(); err != nil {
		return err
	}
	if o.Iface != "" && len(o.RouterMAC) != 6 {
		return &coalesce.OptionError{Option: "RouterMAC", Value: o.RouterMAC.String(), Want: "the router's MAC address on Iface's side"}
	}
	if o.Iface != "" && o.SNAT {
		return &coalesce.OptionError{Option: "SNAT", Value: "true", Want: "the lab's router only: a router of yours translates as you set it up"}
	}
	if o.Egress > lab.EgressTSO {
		return &coalesce.OptionError{Option: "Egress", Value: o.Egress.String(), Want: "gso or tso"}
	}
	return validateSend(o.Idle, o.Pacing, o.Batch, o.Coalesce)
}
