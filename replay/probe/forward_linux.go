package probe

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/lab"
	"github.com/gsoreplay/gsoreplay/replay/verify"
)

// ForwardOptions control RunForward.
type ForwardOptions struct {
	// Keep, if set, is a directory for each case's --keep files (what the
	// router's GRO made, what the receiver got), one subdirectory a case.
	Keep string
	// Cases default to ForwardCases().
	Cases []ForwardCase
}

// RunForward sends every forward case through a lab router of its own
// (verify.VerifyForward: GRO at the router's ingress with a 10 ms flush
// timeout, so that a case's frames meet in one poll) and compares what
// the receiver got with what the kernel must deliver.
func RunForward(ctx context.Context, o ForwardOptions) (*Report, error) {
	if o.Cases == nil {
		o.Cases = ForwardCases()
	}
	rep, major, minor, err := newReport()
	if err != nil {
		return nil, err
	}
	for i := range o.Cases {
		fc := &o.Cases[i]
		res := Result{Name: fc.Name, Kind: KindForward, Sent: fc.Sent(), Expected: fc.For(major, minor), Detail: fc.Note}
		fr, err := sendForwardCase(ctx, fc, o.Keep, i+1)
		if ctx.Err() != nil {
			rep.Interrupted = true
			return rep, fmt.Errorf("interrupted: %w", ctx.Err())
		}
		if err != nil {
			return rep, fmt.Errorf("forward case %s: %w", fc.Name, err)
		}
		res.Observed = forwardObserved(fr)
		res.Pass = res.Observed == res.Expected || res.Expected == ForwardAnyOrder && (res.Observed == ForwardExact || res.Observed == forwardReordered)
		if !res.Pass {
			rep.Failed++
			if len(fr.Details) > 0 {
				res.Detail = strings.TrimPrefix(res.Detail+"; "+fr.Details[0], "; ")
			}
		}
		rep.Cases = append(rep.Cases, res)
	}
	return rep, nil
}

// sendForwardCase runs one case through verify --forward's lab.
func sendForwardCase(ctx context.Context, fc *ForwardCase, keep string, n int) (*verify.ForwardReport, error) {
	var file bytes.Buffer
	w := pcaps.NewWriter(&file, pcaps.WriterOptions{})
	for i := range fc.Frames {
		if err := w.Write(&fc.Frames[i], nil); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	open := func() (*pcaps.Reader, error) { return pcaps.NewReader(bytes.NewReader(file.Bytes()), fc.Name) }
	eg, err := lab.ParseEgress(fc.Egress)
	if err != nil {
		return nil, err
	}
	co := coalesce.DefaultOptions()
	if fc.MaxBytes > 0 {
		co.MaxBytes, co.MaxSegments = fc.MaxBytes, coalesce.MaxSegs
	}
	o := verify.ForwardOptions{Egress: eg, GROList: fc.GROList, Coalesced: fc.Whole, Coalesce: co, BigTCP: fc.BigTCP, SNAT: fc.SNAT,
		Pacing: replay.Pacing{Topspeed: true}, FlushTimeout: 10 * time.Millisecond, Idle: 100 * time.Millisecond}
	if keep != "" {
		o.Keep = filepath.Join(keep, fmt.Sprintf("%03d-%s", n, strings.NewReplacer("/", "-", " ", "-").Replace(fc.Name)))
	}
	return verify.VerifyForward(ctx, fc.Name+".pcap", open, o)
}

// forwardReordered: every frame exact, some after a frame of their flow
// sent later.
const forwardReordered = "exact, reordered"

// forwardObserved says what the receiver got as the expectations say it:
// exact (in order or not), dropped by the router's IP layer, mismatched in
// these fields, or what else went wrong.
func forwardObserved(r *verify.ForwardReport) string {
	clean := r.Missing+r.Extra == 0 && r.Drops == 0
	switch {
	case r.Verdict == verify.VerdictExact:
		return ForwardExact
	case clean && r.Mismatched == 0 && r.Reordered > 0:
		return forwardReordered
	case clean && r.Mismatched > 0 && r.Reordered == 0:
		return fmt.Sprintf("mismatched %d of %d: %s", r.Mismatched, r.Forwardable, strings.Join(differing(r.Details), ", "))
	case r.Exact == 0 && r.Mismatched+r.Extra == 0 && len(r.DropsBy) == 1:
		for k := range r.DropsBy {
			if strings.HasPrefix(k, "router IP") {
				return forwardDropped + strings.TrimPrefix(k, "router ")
			}
		}
	}
	return fmt.Sprintf("%s: exact %d, mismatched %d, missing %d, extra %d, reordered %d, drops %v", r.Verdict, r.Exact, r.Mismatched, r.Missing, r.Extra, r.Reordered, r.DropsBy)
}

// differing names the fields the receiver's details say differ ("IPv4
// TTL 0x40 != 0x3f, ..."), each once, in order.
func differing(details []string) []string {
	var fields []string
	for _, d := range details {
		if !strings.HasPrefix(d, "receiver: ") {
			continue
		}
		_, diff, ok := strings.Cut(d, " differs: ")
		if !ok {
			continue
		}
		for item := range strings.SplitSeq(diff, ", ") {
			before, _, _ := strings.Cut(item, " != ")
			if i := strings.LastIndexByte(before, ' '); i > 0 && !slices.Contains(fields, before[:i]) {
				fields = append(fields, before[:i])
			}
		}
	}
	return fields
}
