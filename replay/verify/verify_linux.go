package verify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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
	Capture capture.Options
	// Keep, if set, is a directory for the captured output and the
	// mismatching frames, as pcapng.
	Keep string
	// Idle ends the capture when no frame came for this long after the last
	// send (default 300 ms).
	Idle time.Duration
	// corrupt, for tests, changes the expected frames before comparing.
	corrupt func([]compare.Expected)
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
)

// Passed reports the verdicts that prove the output: exact or normalized.
func (v Verdict) Passed() bool { return v == VerdictExact || v == VerdictNormalized }

// Verify replays a capture and checks, frame by frame, that what leaves the
// kernel is the original trace (or, for coalesced input and TSO-host
// frames, what the reference segmenter makes of it).
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

	// Send, and note on the way what must come out.
	exp, err := newExpectation(o.Source.Rewrite, threads)
	if err != nil {
		return nil, err
	}
	rep, err := replay.Replay(ctx, name, open, tb.Send, o.replayOptions(tb, threads, exp))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	expected, sides := exp.inCaptureOrder()

	// Wait for the output: all of it, or quiet for Idle.
	out, after, err := tb.Finish(ctx, len(expected), o.Idle)
	if err != nil {
		return nil, err
	}

	if o.corrupt != nil {
		o.corrupt(expected)
	}
	vr, got, res := compareOutput(expected, sides, out, o.Source.Coalesce.Order == coalesce.Strict)
	vr.File, vr.Threads, vr.Capture = name, threads, tb.Where
	vr.account(rep)
	var capDrops uint64
	for _, c := range out {
		capDrops += c.Drops
	}
	vr.DropsBy = tb.Drops(before, after, capDrops)
	vr.judge(rep.Failed)
	vr.Seconds = time.Since(start).Seconds()
	if o.Keep != "" {
		if err := keep(o.Keep, name, got, res); err != nil {
			return vr, err
		}
	}
	return vr, nil
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
		Preload: o.preload, Window: o.window, Iface2: tb.Send2, Observer: obs, In: tb.InSender}
}

// compareOutput compares the captured output with the expected frames:
// with two interfaces each side against its own expectation, then the two
// together, merged by the kernel's timestamps, for each connection's
// order. It returns the report's counts, every frame captured and the
// comparison.
func compareOutput(expected []compare.Expected, sides []split.Side, out []lab.Output, strict bool) (*Report, [][]byte, compare.Result) {
	got := out[0].Frames
	vr := &Report{Expected: len(expected), TwoInterfaces: len(out) > 1}
	var res compare.Result
	if len(out) > 1 {
		var exp2 [2][]compare.Expected
		for i, e := range expected {
			exp2[sides[i]&1] = append(exp2[sides[i]&1], e)
		}
		res = compare.Frames(exp2[0], got, strict)
		r2 := compare.Frames(exp2[1], out[1].Frames, strict)
		res.Add(r2, "second interface: ")
		vr.CrossSideReordered = crossOrder(expected, got, out[0].Times, out[1].Frames, out[1].Times)
		got = append(got, out[1].Frames...)
	} else {
		res = compare.Frames(expected, got, strict)
	}
	vr.SegmentsCaptured = len(got)
	vr.Exact, vr.Normalized, vr.Mismatched, vr.Missing = res.Exact, res.Normalized, res.Mismatched, res.Missing
	vr.Extra, vr.Reordered, vr.Details = res.Extra, res.Reordered, res.Details
	if len(res.NormalizedWhy) > 0 {
		vr.NormalizedWhy = res.NormalizedWhy
	}
	return vr, got, res
}

// account adds what the replay read and sent.
func (vr *Report) account(rep *replay.Report) {
	vr.Packets, vr.CoalescedPackets = rep.InputPackets, rep.CoalescedPackets
	vr.Skipped, vr.SuperPackets, vr.Resegmented = rep.Skipped, rep.SuperPackets, rep.Resegmented
	if vr.Skipped > 0 {
		vr.Details = append(vr.Details, fmt.Sprintf("%d frames of link types that cannot be sent on Ethernet were skipped", vr.Skipped))
	}
	if rep.Failed > 0 {
		vr.SendFailures = rep.Errors
	}
}

// judge sums the drops and gives the verdict: lost when anything was
// dropped, mismatch when a frame or a send went wrong.
func (vr *Report) judge(failedSends int64) {
	for _, v := range vr.DropsBy {
		vr.Drops += v
	}
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

// keep writes the captured frames and the mismatching pairs as pcapng.
func keep(dir, name string, got [][]byte, res compare.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	wo := pcaps.WriterOptions{Application: "gsoreplay verify"}
	ts := time.Now()
	captured := func(yield func(pcapout.Frame) bool) {
		for _, f := range got {
			if !yield(pcapout.Frame{Data: f, Time: ts}) {
				return
			}
		}
	}
	if err := pcapout.Write(filepath.Join(dir, base+".captured.pcapng"), wo, []string{"verify"}, captured); err != nil {
		return err
	}
	mismatched := func(yield func(pcapout.Frame) bool) {
		for i, p := range res.MismatchedPairs {
			if !yield(pcapout.Frame{Data: p[0], Time: ts, Comment: fmt.Appendf(nil, "mismatch %d: expected", i+1)}) ||
				!yield(pcapout.Frame{Data: p[1], Time: ts, Comment: fmt.Appendf(nil, "mismatch %d: captured: %s", i+1, compare.Diff(p[0], p[1]))}) {
				return
			}
		}
	}
	return pcapout.Write(filepath.Join(dir, base+".mismatched.pcapng"), wo, []string{"verify"}, mismatched)
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
	ro := replay.Options{Pacing: o.Pacing, Batch: o.Batch, Source: o.Source, Threads: o.Threads, CPUs: o.CPUs}
	return ro.Validate()
}

// keyed is an expected frame, the capture record it comes from and the
// interface it leaves by.
type keyed struct {
	record int64
	exp    compare.Expected
	side   split.Side
}

// expectation notes, as the replay shows it what it sends, the frames that
// must come out, shard by shard, each with the capture record it comes
// from and the interface it leaves by. With rewriting, what must come out
// is each original frame as rewrite.Frame edits it alone, as tcprewrite
// would: the super-packets sent, edited once, must agree with that.
type expectation struct {
	shards [][]keyed
	rw     []*rewrite.Rewriter
	segs   []gso.Segmenter
}

func newExpectation(ro *rewrite.Options, threads int) (*expectation, error) {
	e := &expectation{shards: make([][]keyed, threads), rw: make([]*rewrite.Rewriter, threads), segs: make([]gso.Segmenter, threads)}
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
func (e *expectation) Frame(shard int, p *pcaps.Packet, record int64) {
	data := p.Data
	if rw := e.rw[shard]; rw != nil {
		data = edited(rw.Frame(data, layers.LinkTypeEthernet, p.Length, rewrite.Dir(p.Interface)))
	}
	e.shards[shard] = append(e.shards[shard], keyed{record, compare.Expected{Data: append([]byte(nil), data...)}, split.Side(p.Interface)})
}

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
		why = fmt.Sprintf("super-frame captured whole on a TSO/GRO host: expected the reference segmentation with gso_size %d from %s", s.Vnet.GSOSize, s.GSOFrom)
	}
	for _, sg := range frames {
		e.shards[shard] = append(e.shards[shard], keyed{s.Record, compare.Expected{Data: append([]byte(nil), sg...), Normalized: why}, s.Side})
	}
	return nil
}

// inCaptureOrder puts the shards' expected frames back in capture order,
// with each frame's side: each shard holds its records in order, so a
// merge by record number restores the capture's (frames of one record
// keep their order; a record number 0, for what the coalescer merged,
// follows the frame before it).
func (e *expectation) inCaptureOrder() ([]compare.Expected, []split.Side) {
	shards := e.shards
	var out []compare.Expected
	var sides []split.Side
	take := func(k keyed) {
		out = append(out, k.exp)
		sides = append(sides, k.side)
	}
	if len(shards) == 1 {
		for _, k := range shards[0] {
			take(k)
		}
		return out, sides
	}
	next := make([]int, len(shards))
	for {
		best := -1
		for i, s := range shards {
			if next[i] < len(s) && (best < 0 || s[next[i]].record < shards[best][next[best]].record) {
				best = i
			}
		}
		if best < 0 {
			return out, sides
		}
		rec := shards[best][next[best]].record
		for next[best] < len(shards[best]) && (shards[best][next[best]].record == rec || shards[best][next[best]].record == 0) {
			take(shards[best][next[best]])
			next[best]++
		}
	}
}

// crossOrder counts the frames that, the two interfaces' captures merged by
// their kernel timestamps, stand elsewhere within their connection than
// the expected frames of that connection do (both directions of a
// connection being one sequence, as the two sides of a split are).
func crossOrder(expected []compare.Expected, got [][]byte, times []time.Time, got2 [][]byte, times2 []time.Time) int {
	type at struct {
		t     time.Time
		frame []byte
	}
	all := make([]at, 0, len(got)+len(got2))
	for i := range got {
		all = append(all, at{times[i], got[i]})
	}
	for i := range got2 {
		all = append(all, at{times2[i], got2[i]})
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].t.Before(all[b].t) })
	conn := func(f []byte) uint64 {
		if k := flowOf(f); k != (coalesce.Flow{}) {
			return k.Symmetric()
		}
		return 0
	}
	want := map[uint64][][]byte{}
	for _, e := range expected {
		if k := conn(e.Data); k != 0 {
			want[k] = append(want[k], e.Data)
		}
	}
	pos := map[uint64]int{}
	bad := 0
	for _, a := range all {
		k := conn(a.frame)
		if k == 0 {
			continue
		}
		w, i := want[k], pos[k]
		pos[k]++
		if i < len(w) && !bytes.Equal(w[i], a.frame) {
			bad++
		}
	}
	return bad
}

// flowOf is a frame's flow as the coalescer keys it; the zero Flow for a
// frame that has none.
func flowOf(f []byte) coalesce.Flow {
	var cl coalesce.Classified
	cl.Classify(&pcaps.Packet{Data: f, Length: len(f), LinkType: layers.LinkTypeEthernet})
	k, _ := cl.Flow()
	return k
}
