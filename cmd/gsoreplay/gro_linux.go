package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/verify"
)

// groFlags are verify --gro's own.
func groFlags() []cli.Flag {
	cat := "The receive side (verify --gro)"
	return []cli.Flag{
		&cli.BoolFlag{Category: cat, Name: "gro", Usage: "check the receive side instead: send each IN frame by frame, as captured, into a receiver running GRO, and check that every packet GRO hands up segments back into the frames it replaced (lossless) — see DESCRIPTION"},
		&cli.DurationFlag{Category: cat, Name: "gro-flush-timeout", Value: time.Millisecond, Usage: "the lab receiver's gro_flush_timeout: how long its NAPI poll waits for more frames to merge"},
		&cli.IntFlag{Category: cat, Name: "napi-defer-hard-irqs", Value: 10, Usage: "the lab receiver's napi_defer_hard_irqs"},
	}
}

// verifyGRO is verify --gro: one report per input; exit 0 only when every
// GRO packet is lossless and nothing was lost.
func verifyGRO(c *cli.Context, ins []string, opens []replay.Opener, pacing replay.Pacing, copts coalesce.Options) error {
	o := verify.GROOptions{Iface: c.String("iface"), CaptureIface: c.String("capture-iface"), Keep: c.String("keep"), Idle: c.Duration("idle"),
		Batch: c.Int("batch"), Pacing: pacing, Coalesce: copts,
		FlushTimeout: c.Duration("gro-flush-timeout"), DeferIRQs: c.Int("napi-defer-hard-irqs")}
	if o.FlushTimeout <= 0 || o.FlushTimeout > time.Second {
		return usagef("--gro-flush-timeout %v: want 1ns..1s", o.FlushTimeout)
	}
	if o.DeferIRQs < 1 || o.DeferIRQs > 1000 {
		return usagef("--napi-defer-hard-irqs %d: want 1..1000", o.DeferIRQs)
	}
	return verifyEach(c, ins, func(ctx context.Context, i int, in string) (*verify.GROReport, bool, error) {
		rep, err := verify.VerifyGRO(ctx, in, opens[i], o)
		if err != nil {
			return rep, rep != nil && rep.Interrupted, fmt.Errorf("verify --gro %s: %w", in, err)
		}
		return rep, false, nil
	}, printGRO, groSection, func(r *verify.GROReport) bool { return r.Verdict.Passed() }, ": GRO was not lossless or frames were lost")
}

// printGRO writes one input's receive-side verdict for a person.
func printGRO(w io.Writer, r *verify.GROReport) {
	fmt.Fprintf(w, "%s: GRO %s\n", r.File, strings.ToUpper(r.Verdict.String()))
	fmt.Fprintf(w, "  sent      %d frames one by one; %s handed up %d packets\n", r.Packets, r.Receiver, r.Received)
	var types []string
	for k, v := range r.Segmented {
		types = append(types, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(types)
	fmt.Fprintf(w, "  merged    %d GRO packets hold %d frames", r.GROPackets, r.GROMerged)
	if r.GROPackets > 0 {
		fmt.Fprintf(w, " (mean %.1f segments, largest %d bytes; %s)", r.MeanSegments, r.LargestBytes, strings.Join(types, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  lossless %d  lossy %d  mismatched %d  missing %d  extra %d  drops %d  (%.2f s)\n",
		r.Lossless, r.Lossy, r.Mismatched, r.Missing, r.Extra, r.Drops, r.Seconds)
	if r.Reordered > 0 {
		fmt.Fprintf(w, "  reordered %d frames came up after a frame of their flow sent later (GRO hands up a frame it refuses before the packet it holds)\n", r.Reordered)
	}
	fmt.Fprintf(w, "  coalesce  %d super-packets hold %d frames; GRO merged %d neighbours coalesce keeps apart, split %d it merges\n",
		r.CoalesceSuperPackets, r.CoalesceMerged, r.GROMergesRefused, r.CoalesceMergesSplit)
	if len(r.RefusedBecause) > 0 {
		keys := make([]string, 0, len(r.RefusedBecause))
		for k := range r.RefusedBecause {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %10d  coalesce refuses: %s\n", r.RefusedBecause[k], k)
		}
	}
	for k, v := range r.DropsBy {
		fmt.Fprintf(w, "  dropped   %d by %s\n", v, k)
	}
	for _, d := range r.Details {
		fmt.Fprintf(w, "  %s\n", d)
	}
}
