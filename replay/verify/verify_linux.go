package verify

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/compare"
	"github.com/gsoreplay/gsoreplay/replay/internal/pcapout"
	"github.com/gsoreplay/gsoreplay/replay/lab"
	"github.com/gsoreplay/gsoreplay/replay/split"
	"slices"
)

// Options control a verification.
type Options struct {
	// Iface and CaptureIface name existing interfaces (two NIC ports cabled
	// together, say) in the current namespace; both empty builds a Lab.
	Iface, CaptureIface string
	// Iface2 and CaptureIface2, with Source.Split, are the second pair of
	// existing interfaces; a lab builds its own second pair.
	Iface2, CaptureIface2 string
	Source                replay.SourceOptions
	// Pacing defaults to top speed: the capture keeps up (TPACKET_V3).
	Pacing replay.Pacing
	Batch  int
	// Threads and CPUs are replay's (replay.Options): pipelines that share
	// the capture by connection, by default one per CPU; strict order
	// (Source.Coalesce.Order) always uses one, which keeps the global order.
	Threads int
	CPUs    []int
	// Via is replay's way in (replay.Options.Via): a tap redirected to the
	// interface sends what a packet socket cannot, UDP tunnel
	// super-packets (Source.Coalesce.TunnelGSO).
	Via     replay.Via
	Capture capture.Options
	// Keep, if set, is a directory for the captured output and the
	// mismatching frames, as pcapng.
	Keep string
	// Idle ends the capture when no frame came for this long after the last
	// send (default 300 ms).
	Idle time.Duration
	// corrupt, for tests, changes an expected frame (its position among
	// all, in the order they are sent) before it is compared.
	corrupt func(pos int, e *compare.Expected)
	// preload, for tests, sends as replay -K does.
	preload bool
	// window, for tests, is the streaming ring's size (replay.Options.Window).
	window int
}

// Report is one input's verdict.
type Report struct {
	File string `json:"file"`
	// Packets is what the input holds (for a coalesced input, the packets
	// its records stand for); Expected is the frames that must come out.
	Packets          int64 `json:"packets"`
	Expected         int   `json:"expected"`
	Skipped          int64 `json:"skipped_link_type,omitempty"`
	SuperPackets     int64 `json:"super_packets"`
	CoalescedPackets int64 `json:"coalesced_packets"`
	// Resegmented counts frames captured whole on a TSO/GRO host and sent
	// as super-packets (their segments are normalized).
	Resegmented      int64 `json:"tso_frames_resegmented,omitempty"`
	SegmentsCaptured int   `json:"segments_captured"`
	Exact            int   `json:"exact"`
	// CrossSideReordered, with two interfaces, counts frames whose
	// connection's order the two captures, merged by the kernel's
	// timestamps, do not give back.
	CrossSideReordered int               `json:"cross_side_reordered,omitempty"`
	TwoInterfaces      bool              `json:"two_interfaces,omitempty"`
	Normalized         int               `json:"normalized"`
	Mismatched         int               `json:"mismatched"`
	Missing            int               `json:"missing"`
	Extra              int               `json:"extra"`
	Reordered          int               `json:"reordered"`
	Drops              uint64            `json:"drops"`
	DropsBy            map[string]uint64 `json:"drops_by,omitempty"`
	SendFailures       map[string]int64  `json:"send_failures,omitempty"`
	Verdict            Verdict           `json:"verdict"`
	Details            []string          `json:"details,omitempty"`
	NormalizedWhy      map[string]int    `json:"normalized_why,omitempty"`
	Seconds            float64           `json:"seconds"`
	Capture            string            `json:"capture"`
	Threads            int               `json:"threads"`
	// Interrupted: the run was stopped (Ctrl-C): the counts are what was
	// checked until then, and Unchecked the frames expected that were not
	// sent or were still on their way.
	Interrupted bool `json:"interrupted,omitempty"`
	Unchecked   int  `json:"unchecked,omitempty"`
	// Series is the replay's (rates, send-time error, super-packet sizes,
	// each pipeline's share; see replay.Series), and Coalescing what its
	// coalescers made of the capture.
	Series     *replay.Series    `json:"series,omitempty"`
	Coalescing *coalesce.Summary `json:"coalescing,omitempty"`
}

// Verdict is the outcome for one input.
type Verdict string

// Verdicts, from best to worst.
const (
	// VerdictExact: every frame came out byte for byte as captured.
	VerdictExact Verdict = "exact"
	// VerdictNormalized: every frame came out as the reference segmenter
	// says it must, some of them not as captured (Report.NormalizedWhy).
	VerdictNormalized Verdict = "normalized"
	// VerdictMismatch: frames differ, are missing, extra or reordered, or
	// the kernel refused sends.
	VerdictMismatch Verdict = "mismatch"
	// VerdictLost: a counter saw frames dropped, so nothing can be proved.
	VerdictLost Verdict = "lost"
	// VerdictInterrupted: the run was stopped before the end.
	VerdictInterrupted Verdict = "interrupted"
)

// Passed reports the verdicts that prove the output: exact or normalized.
func (v Verdict) Passed() bool { return v == VerdictExact || v == VerdictNormalized }

// Verify replays a capture and checks, frame by frame, that what leaves the
// kernel is the original trace (or, for coalesced input and TSO-host
// frames, what the reference segmenter makes of it). It compares while it
// sends: memory holds the frames in flight, not the capture. When ctx
// ends it stops sending, takes what is already on its way, and returns the
// report of what was checked so far (Interrupted, verdict interrupted)
// with an error that wraps ctx's.
func Verify(ctx context.Context, name string, open replay.Opener, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	start := time.Now()
	threads := o.threads()
	tb, err := lab.NewTestbed(o.testbed())
	if err != nil {
		return nil, err
	}
	defer tb.Close()
	before, err := tb.Counters()
	if err != nil {
		return nil, err
	}

	// Compare as frames are captured; send, handing the comparison what
	// must come out on the way.
	ck := newCheck(ctx, o.Source.Coalesce.Order == coalesce.Strict, tb.Send2 != "", inFlightBudget(tb.Ring()), o.corrupt)
	if o.Keep != "" {
		if err := ck.keepCaptured(o.Keep, name); err != nil {
			return nil, err
		}
	}
	tb.Stream(ck.got)
	exp, err := newExpectation(o.Source.Rewrite, threads, ck)
	if err != nil {
		return nil, err
	}
	rep, err := replay.Replay(ctx, name, open, tb.Send, o.replayOptions(tb, threads, exp))
	if err != nil && (rep == nil || ctx.Err() == nil) {
		return nil, err
	}

	// Wait for the output: all of it, or quiet for Idle; interrupted, only
	// what is on its way.
	want, _ := ck.counts()
	wctx, idle := waitCtx(ctx, o.Idle)
	out, after, err := tb.Finish(wctx, want, idle)
	if err != nil {
		return nil, err
	}
	res, cross, err := ck.result()
	if err != nil {
		return nil, err
	}
	vr := &Report{File: name, Threads: threads, Capture: tb.Where, Expected: want, TwoInterfaces: tb.Send2 != "", CrossSideReordered: cross}
	_, vr.SegmentsCaptured = ck.counts()
	vr.classified(res)
	vr.account(rep)
	var capDrops uint64
	for _, c := range out {
		capDrops += c.Drops
	}
	vr.DropsBy = tb.Drops(before, after, capDrops)
	vr.Drops = tb.Lost(vr.DropsBy)
	vr.judge(rep.Failed)
	vr.Seconds = time.Since(start).Seconds()
	if ctx.Err() != nil {
		// What was expected and not captured was not sent, or is still on
		// its way: not checked, rather than missing.
		vr.Unchecked, vr.Missing = vr.Missing, 0
		vr.Details = slices.DeleteFunc(vr.Details, func(d string) bool { return strings.Contains(d, " missing (") })
		vr.Interrupted, vr.Verdict = true, VerdictInterrupted
		return vr, fmt.Errorf("interrupted after %d of the frames sent were checked: %w", vr.SegmentsCaptured, ctx.Err())
	}
	if o.Keep != "" {
		if err := keepMismatched(o.Keep, name, res); err != nil {
			return vr, err
		}
	}
	return vr, nil
}

// inFlightBudget is how much memory the frames handed over and not yet
// compared may take before the sender waits: half the capture ring, so
// that a burst cannot overflow it, but at least minInFlight, for the
// sender's own batches, expected before they leave, must fit (a smaller
// ring may then overflow at top speed, which the capture socket's drops
// report).
func inFlightBudget(blockSize int64, blocks int) int64 {
	return max(blockSize*int64(blocks)/2, minInFlight)
}

// minInFlight holds a replay pipeline's batches on their way to the
// socket: the sender waits for nothing it has not sent.
const minInFlight = 32 << 20

// interruptWait is how long an interrupted run waits for what is on its
// way: within the second a person waits after Ctrl-C.
const interruptWait = 200 * time.Millisecond

// waitCtx is how the output is waited for: for idle of quiet unless ctx
// ends; once it has ended, for what is on its way only.
func waitCtx(ctx context.Context, idle time.Duration) (context.Context, time.Duration) {
	if ctx.Err() != nil {
		return context.Background(), min(idle, interruptWait)
	}
	return ctx, idle
}

// defaults fills what is left to defaults and validates the options.
func (o *Options) defaults() error {
	sendDefaults(&o.Pacing, &o.Batch, &o.Idle)
	return o.Validate()
}

// sendDefaults fills what Verify and VerifyGRO leave to defaults: top
// speed, batches of 32, 300 ms of quiet to end a capture.
func sendDefaults(p *replay.Pacing, batch *int, idle *time.Duration) {
	if *p == (replay.Pacing{}) {
		p.Topspeed = true
	}
	if *batch == 0 {
		*batch = 32
	}
	if *idle == 0 {
		*idle = 300 * time.Millisecond
	}
}

// threads is the number of pipelines: replay's, one in strict order,
// which keeps the global order.
func (o *Options) threads() int {
	if o.Source.Coalesce.Order == coalesce.Strict {
		return 1
	}
	return (replay.Options{Threads: o.Threads, CPUs: o.CPUs}).ThreadCount()
}

// testbed is where the options send and capture.
func (o *Options) testbed() lab.TestbedOptions {
	return lab.TestbedOptions{Iface: o.Iface, CaptureIface: o.CaptureIface, Two: o.Source.Split != nil,
		Iface2: o.Iface2, CaptureIface2: o.CaptureIface2, Capture: o.Capture}
}

// replayOptions send one pass through the testbed, shown to obs.
func (o *Options) replayOptions(tb *lab.Testbed, threads int, obs replay.Observer) replay.Options {
	return replay.Options{Pacing: o.Pacing, Loops: 1, Batch: o.Batch, Source: o.Source, Threads: threads, CPUs: o.CPUs,
		Preload: o.preload, Window: o.window, Iface2: tb.Send2, Observer: obs, In: tb.InSender, Via: o.Via}
}

// classified takes the comparison's counts.
func (vr *Report) classified(res compare.Result) {
	vr.Exact, vr.Normalized, vr.Mismatched, vr.Missing = res.Exact, res.Normalized, res.Mismatched, res.Missing
	vr.Extra, vr.Reordered, vr.Details = res.Extra, res.Reordered, res.Details
	if len(res.NormalizedWhy) > 0 {
		vr.NormalizedWhy = res.NormalizedWhy
	}
}

// account adds what the replay read and sent.
func (vr *Report) account(rep *replay.Report) {
	vr.Packets, vr.CoalescedPackets = rep.InputPackets, rep.CoalescedPackets
	vr.Skipped, vr.SuperPackets, vr.Resegmented = rep.Skipped, rep.SuperPackets, rep.Resegmented
	vr.Series, vr.Coalescing = rep.Series, rep.Coalescing
	if vr.Skipped > 0 {
		vr.Details = append(vr.Details, fmt.Sprintf("%d frames of link types that cannot be sent on Ethernet were skipped", vr.Skipped))
	}
	if rep.Failed > 0 {
		vr.SendFailures = rep.Errors
	}
}

// judge gives the verdict: lost when anything was dropped, mismatch when
// a frame or a send went wrong.
func (vr *Report) judge(failedSends int64) {
	switch {
	case vr.Drops > 0:
		vr.Verdict = VerdictLost
	case vr.Mismatched+vr.Missing+vr.Extra+vr.Reordered+vr.CrossSideReordered > 0 || failedSends > 0:
		vr.Verdict = VerdictMismatch
	case vr.Normalized > 0:
		vr.Verdict = VerdictNormalized
	default:
		vr.Verdict = VerdictExact
	}
}

// keepMismatched writes the mismatching pairs as pcapng (the captured
// frames were written as they came: check.keepCaptured).
func keepMismatched(dir, name string, res compare.Result) error {
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	ts := time.Now()
	mismatched := func(yield func(pcapout.Frame) bool) {
		for i, p := range res.MismatchedPairs {
			if !yield(pcapout.Frame{Data: p[0], Time: ts, Comment: fmt.Appendf(nil, "mismatch %d: expected", i+1)}) ||
				!yield(pcapout.Frame{Data: p[1], Time: ts, Comment: fmt.Appendf(nil, "mismatch %d: captured: %s", i+1, compare.Diff(p[0], p[1]))}) {
				return
			}
		}
	}
	return pcapout.Write(filepath.Join(dir, base+".mismatched.pcapng"), pcaps.WriterOptions{Application: "gsoreplay verify"}, []string{"verify"}, mismatched)
}

// Validate reports the first option out of range: lab.ErrInterfaces, the
// pacing's errors, or a *coalesce.OptionError naming the field. Zero
// values take defaults.
func (o Options) Validate() error {
	if err := o.testbed().Validate(); err != nil {
		return err
	}
	if o.Idle < 0 {
		return &coalesce.OptionError{Option: "Idle", Value: o.Idle.String(), Want: "must not be negative"}
	}
	ro := replay.Options{Pacing: o.Pacing, Batch: o.Batch, Source: o.Source, Threads: o.Threads, CPUs: o.CPUs, Via: o.Via}
	return ro.Validate()
}

// expectation hands the check, as the replay shows it what it sends, the
// frames that must come out, each with the interface it leaves by. With
// rewriting, what must come out is each original frame as rewrite.Frame
// edits it alone, as tcprewrite would: the super-packets sent, edited
// once, must agree with that. Each expected frame is a copy: what the
// replay shows it is reused, unless the replay lends it (Borrowed).
type expectation struct {
	ck   *check
	rw   []*rewrite.Rewriter
	segs []gso.Segmenter
}

func newExpectation(ro *rewrite.Options, threads int, ck *check) (*expectation, error) {
	e := &expectation{ck: ck, rw: make([]*rewrite.Rewriter, threads), segs: make([]gso.Segmenter, threads)}
	if ro != nil {
		for i := range e.rw {
			var err error
			if e.rw[i], err = rewrite.New(*ro); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// Frame notes a frame that must come out as it stands.
func (e *expectation) Frame(shard int, p *pcaps.Packet, _ int64) {
	data := p.Data
	if rw := e.rw[shard]; rw != nil {
		data = edited(rw.Frame(data, layers.LinkTypeEthernet, p.Length, rewrite.Dir(p.Interface)))
	}
	e.ck.expect(split.Side(p.Interface), data, "")
}

// Borrowed notes a frame that must come out as it stands, lent where it
// lies until Reclaim (the replay lends only frames it does not rewrite).
func (e *expectation) Borrowed(shard int, p *pcaps.Packet, _ int64) {
	e.ck.lend(shard, split.Side(p.Interface), p.Data, p.Offset)
}

// Reclaim gives back the frames lent before offset before.
func (e *expectation) Reclaim(shard int, before int64) { e.ck.reclaim(shard, before) }

// edited is the frame a rewriter returns; the wire length it also returns
// follows from the frame.
func edited(frame []byte, _ int) []byte { return frame }

// Sent notes the reference segmentation of a record sent as it stands.
func (e *expectation) Sent(shard int, s *replay.Sent) error {
	frames, err := e.segs[shard].Segment(s.Frame, layers.LinkTypeEthernet, s.Vnet)
	if err != nil {
		return fmt.Errorf("reference segmentation: %w", err)
	}
	why := ""
	if s.Built {
		why = fmt.Sprintf("super-frame captured whole on a TSO/GRO host: expected the reference segmentation of gso=%s with gso_size %d from %s", s.Vnet.GSOType, s.Vnet.GSOSize, s.GSOFrom)
	}
	for _, sg := range frames {
		e.ck.expect(s.Side, sg, why)
	}
	return nil
}

// flowOf is a frame's flow as the coalescer keys it; the zero Flow for a
// frame that has none.
func flowOf(f []byte) coalesce.Flow {
	var cl coalesce.Classified
	cl.Classify(&pcaps.Packet{Data: f, Length: len(f), LinkType: layers.LinkTypeEthernet})
	k, _ := cl.Flow()
	return k
}
