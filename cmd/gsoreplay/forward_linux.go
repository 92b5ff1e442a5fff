package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/lab"
	"github.com/gsoreplay/gsoreplay/replay/verify"
)

// forwardFlags are verify --forward's own (it shares --gro-flush-timeout and
// --napi-defer-hard-irqs with --gro).
func forwardFlags() []cli.Flag {
	cat := "The router in the middle (verify --forward)"
	return []cli.Flag{
		&cli.BoolFlag{Category: cat, Name: "forward", Usage: "check a router in the middle: send each IN through a lab router (GRO in, route, GSO or TSO out) and check that the receiver gets every frame with exactly the routing's edits — see DESCRIPTION"},
		&cli.StringFlag{Category: cat, Name: "egress", Value: "gso", Usage: "the lab router's egress: gso (its offloads off: the kernel cuts GRO packets in software) or tso (passed on whole, checked at the receiver by the reference segmentation)"},
		&cli.BoolFlag{Category: cat, Name: "gro-list", Usage: "turn on fraglist GRO (rx-gro-list) at the lab router's ingress"},
		&cli.IntFlag{Category: cat, Name: "big-tcp", Usage: "raise the lab router's GRO and GSO limits to `BYTES` (65537..524280; BIG TCP): its GRO builds packets above 64 KiB and --egress tso passes them on whole"},
		&cli.BoolFlag{Category: cat, Name: "snat", Usage: "the lab router source-NATs what it forwards (nftables, conntrack) to 198.51.100.71 and 2001:db8::4753:71: frames must come out translated too, checksums updated as nf_nat does. One-way traffic only: a capture's replies, sent from the same side, are new or invalid connections to conntrack"},
		&cli.BoolFlag{Category: cat, Name: "coalesce", Usage: "send IN as super-packets that reach the router whole (TSO at the sender's end, as from a VM or container) instead of frame by frame"},
		&cli.StringFlag{Category: cat, Name: "router-mac", Usage: "with --iface and --capture-iface: the `MAC` of your router on --iface's side, the destination every frame is sent to"},
	}
}

// verifyForward is verify --forward: one report per input; exit 0 only
// when every forwardable frame came out exact and nothing was lost.
func verifyForward(c *cli.Context, ins []string, opens []replay.Opener, pacing replay.Pacing, copts coalesce.Options, ring capture.Options) error {
	o := verify.ForwardOptions{Iface: c.String("iface"), CaptureIface: c.String("capture-iface"), Keep: c.String("keep"), Idle: c.Duration("idle"),
		Batch: c.Int("batch"), Pacing: pacing, Coalesce: copts, Coalesced: c.Bool("coalesce"), GROList: c.Bool("gro-list"), BigTCP: c.Int("big-tcp"), SNAT: c.Bool("snat"), Capture: ring,
		FlushTimeout: c.Duration("gro-flush-timeout"), DeferIRQs: c.Int("napi-defer-hard-irqs")}
	var err error
	if o.Egress, err = lab.ParseEgress(c.String("egress")); err != nil {
		return usagef("--egress %q: want gso or tso", c.String("egress"))
	}
	if o.FlushTimeout <= 0 || o.FlushTimeout > time.Second {
		return usagef("--gro-flush-timeout %v: want 1ns..1s", o.FlushTimeout)
	}
	if o.DeferIRQs < 1 || o.DeferIRQs > 1000 {
		return usagef("--napi-defer-hard-irqs %d: want 1..1000", o.DeferIRQs)
	}
	if s := c.String("router-mac"); s != "" {
		if o.RouterMAC, err = net.ParseMAC(s); err != nil || len(o.RouterMAC) != 6 {
			return usagef("--router-mac %q: not a MAC address (like 00:11:22:33:44:55)", s)
		}
	}
	switch {
	case o.Iface != "" && o.RouterMAC == nil:
		return usagef("verify --forward --iface: give your router's MAC on that side (--router-mac)")
	case o.Iface == "" && o.RouterMAC != nil:
		return usagef("--router-mac goes with --iface and --capture-iface: the lab's router has its own")
	case o.Iface != "" && (c.IsSet("egress") || o.GROList || o.BigTCP != 0 || o.SNAT):
		return usagef("--egress, --gro-list, --big-tcp and --snat shape the lab's router; with --iface your router is as you set it up")
	case o.BigTCP != 0 && (o.BigTCP < lab.MinBigTCP || o.BigTCP > lab.MaxBigTCP):
		return usagef("--big-tcp %d: want %d..%d bytes", o.BigTCP, lab.MinBigTCP, lab.MaxBigTCP)
	}
	return verifyEach(c, ins, func(ctx context.Context, i int, in string) (*verify.ForwardReport, bool, error) {
		rep, err := verify.VerifyForward(ctx, in, opens[i], o)
		if err != nil {
			return rep, rep != nil && rep.Interrupted, fmt.Errorf("verify --forward %s: %w", in, err)
		}
		return rep, false, nil
	}, printForward, forwardSection, func(r *verify.ForwardReport) bool { return r.Verdict.Passed() }, ": frames came out of the router changed or were lost")
}

// printForward writes one input's verdict on the path through a router.
func printForward(w io.Writer, r *verify.ForwardReport) {
	fmt.Fprintf(w, "%s: %s through the router\n", r.File, strings.ToUpper(string(r.Verdict)))
	fmt.Fprintf(w, "  sent      %d frames; %d forwardable", r.Packets, r.Forwardable)
	if len(r.NotRouted) > 0 {
		fmt.Fprintf(w, " (not by a router: %s)", sortedCounts(r.NotRouted))
	}
	fmt.Fprintln(w)
	if g := r.Router; g != nil {
		var types []string
		for k, v := range g.Segmented {
			types = append(types, fmt.Sprintf("%s %d", k, v))
		}
		sort.Strings(types)
		fmt.Fprintf(w, "  router    GRO handed up %d packets; %d GRO packets hold %d frames", g.Received, g.GROPackets, g.GROMerged)
		if g.GROPackets > 0 {
			fmt.Fprintf(w, " (mean %.1f segments, largest %d bytes; %s)", g.MeanSegments, g.LargestBytes, strings.Join(types, ", "))
		}
		fmt.Fprintf(w, "; as virtio headers describe them: lossless %d, lossy %d\n", g.Lossless, g.Lossy)
		if g.Lossy > 0 && r.BrokenAtGRO == 0 && r.Verdict.Passed() {
			fmt.Fprintf(w, "            the kernel kept what a virtio header cannot say (a fixed IPv4 ID, say): the frames came out exact,\n")
			fmt.Fprintf(w, "            but a VM or tap behind this router would get the lossy packets\n")
		}
	}
	fmt.Fprintf(w, "  received  %d packets at %s", r.Received, r.Receiver)
	if r.SuperPackets > 0 {
		fmt.Fprintf(w, ", %d of them super-packets (egress %s)", r.SuperPackets, r.Egress)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  exact %d  mismatched %d (at GRO %d, after it %d)  missing %d  extra %d  drops %d  (%.2f s)\n",
		r.Exact, r.Mismatched, r.BrokenAtGRO, r.BrokenAfterGRO, r.Missing, r.Extra, r.Drops, r.Seconds)
	if r.Reordered > 0 {
		fmt.Fprintf(w, "  reordered %d frames came after a frame of their flow sent later\n", r.Reordered)
	}
	if r.RouterOwn > 0 {
		fmt.Fprintf(w, "  left out  %d frames the router sent of its own (link-scope multicast)\n", r.RouterOwn)
	}
	for k, v := range r.DropsBy {
		fmt.Fprintf(w, "  dropped   %d by %s\n", v, k)
	}
	for _, d := range r.Details {
		fmt.Fprintf(w, "  %s\n", d)
	}
}

// sortedCounts writes "why N, why N" by key.
func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
