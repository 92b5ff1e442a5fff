package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/vishvananda/netlink"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/coalesce/inspect"
	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/compare"
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

// ErrInterfaces: Iface and CaptureIface name existing interfaces together,
// or both are empty for a lab.
var ErrInterfaces = errors.New("an existing interface to send on and one to capture on go together")

// Verify replays a capture and checks, frame by frame, that what leaves the
// kernel is the original trace (or, for coalesced input and TSO-host
// frames, what the reference segmenter makes of it).
func Verify(ctx context.Context, name string, open replay.Opener, o Options) (*Report, error) {
	if err := sendDefaults(&o.Pacing, &o.Batch, &o.Idle, o.Iface, o.CaptureIface); err != nil {
		return nil, err
	}
	start := time.Now()
	threads := (replay.Options{Threads: o.Threads, CPUs: o.CPUs}).ThreadCount()
	if o.Source.Coalesce.Order == coalesce.Strict {
		threads = 1
	}
	two := o.Source.Split != nil
	if two && o.Iface != "" && (o.Iface2 == "" || o.CaptureIface2 == "") {
		return nil, errors.New("a split needs a second interface to send on and one to capture on")
	}
	var (
		ss      []*replay.Sender
		c, c2   *capture.Capture
		l       *lab.Lab
		hs, hc  *netlink.Handle // the namespaces of the sending and the capturing interface
		sendIf  = o.Iface
		capIf   = o.CaptureIface
		capDesc string
	)
	defer func() {
		replay.CloseSenders(ss)
		if c != nil {
			c.Stop()
		}
		if c2 != nil {
			c2.Stop()
		}
		l.Close()
	}()
	if o.Iface == "" {
		var err error
		if l, err = lab.New(); err != nil {
			return nil, err
		}
		sendIf, capIf = l.IfA, l.IfB
		hs, hc = l.Handle(l.IfA), l.Handle(l.IfB)
		// Capture at A's transmit tap: the segments after software GSO,
		// immune to B's backlog limit.
		o.Capture.Outgoing = true
		capDesc = "transmit tap of " + l.IfA + " (lab)"
		if two {
			if err := l.AddPair(); err != nil {
				return nil, err
			}
		}
		err = l.Do(l.A, func() error {
			var err error
			if ss, err = replay.NewSenders(l.IfA, o.Batch, threads); err != nil {
				return err
			}
			if two {
				for _, s := range ss {
					if err := s.AddInterface(l.IfA2); err != nil {
						return err
					}
				}
				if c2, err = capture.New(l.IfA2, o.Capture); err != nil {
					return err
				}
			}
			c, err = capture.New(l.IfA, o.Capture)
			return err
		})
		if err != nil {
			return nil, err
		}
	} else {
		var err error
		if hs, err = netlink.NewHandle(); err != nil {
			return nil, err
		}
		defer hs.Close()
		hc = hs
		if ss, err = replay.NewSenders(o.Iface, o.Batch, threads); err != nil {
			return nil, err
		}
		o.Capture.Outgoing = false
		if c, err = capture.New(o.CaptureIface, o.Capture); err != nil {
			return nil, err
		}
		capDesc = "receive side of " + o.CaptureIface
		if two {
			for _, s := range ss {
				if err := s.AddInterface(o.Iface2); err != nil {
					return nil, err
				}
			}
			if c2, err = capture.New(o.CaptureIface2, o.Capture); err != nil {
				return nil, err
			}
			capDesc += " and " + o.CaptureIface2
		}
	}
	if two && l != nil {
		capDesc = "transmit taps of " + l.IfA + " and " + l.IfA2 + " (lab)"
	}
	txBefore, err := lab.LinkCounters(hs, sendIf)
	if err != nil {
		return nil, err
	}
	rxBefore, err := lab.LinkCounters(hc, capIf)
	if err != nil {
		return nil, err
	}
	softBefore := lab.SoftnetDrops()
	if link, err := hs.LinkByName(sendIf); err == nil && o.Source.MTU == 0 {
		o.Source.MTU = link.Attrs().MTU
	}

	// Send, and note on the way what must come out, shard by shard, each
	// expected frame with the capture record it comes from.
	srcs := replay.NewSources(o.Source, threads)
	exp := make([][]keyed, threads)
	segs := make([]gso.Segmenter, threads)
	for i, src := range srcs {
		// With rewriting, what must come out is each original frame as
		// rewrite.Frame edits it alone, as tcprewrite would: the sent
		// super-packets, edited once, must agree with that.
		var rw *rewrite.Rewriter
		if o.Source.Rewrite != nil {
			rw, _ = rewrite.New(*o.Source.Rewrite)
		}
		src.OnFrame = func(p *pcaps.Packet, record int64) {
			data := p.Data
			if rw != nil {
				data, _ = rw.Frame(data, layers.LinkTypeEthernet, p.Length, rewrite.Dir(p.Interface))
			}
			exp[i] = append(exp[i], keyed{record, compare.Expected{Data: append([]byte(nil), data...)}, split.Side(p.Interface)})
		}
	}
	each := func(shard int, it *replay.Item) error {
		if !it.Built && !srcs[shard].Stats.Coalesced {
			return nil
		}
		frame := it.Frame
		if len(it.Parts) > 0 {
			frame = it.AppendFrame(nil)
		}
		frames, err := segs[shard].Segment(frame, layers.LinkTypeEthernet, it.Vnet)
		if err != nil {
			return fmt.Errorf("reference segmentation: %w", err)
		}
		why := ""
		if it.Built {
			why = fmt.Sprintf("super-frame captured whole on a TSO/GRO host: expected the reference segmentation with gso_size %d from %s", it.Vnet.GSOSize, it.GSOFrom)
		}
		for _, sg := range frames {
			exp[shard] = append(exp[shard], keyed{it.Record, compare.Expected{Data: append([]byte(nil), sg...), Normalized: why}, it.Side})
		}
		return nil
	}
	ro := replay.Options{Pacing: o.Pacing, Loops: 1, Batch: o.Batch, Source: o.Source, CPUs: o.CPUs, Preload: o.preload, Window: o.window}
	rep, err := replay.Run(ctx, open, ss, srcs, ro, each)
	if err != nil {
		return nil, err
	}
	expected, sides := merge(exp)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}

	// Wait for the output: all of it, or quiet for Idle.
	waitOutput(ctx, len(expected), o.Idle, c, c2)
	got, cerr := c.Stop()
	_, capDrops := c.Stats()
	times := c.Times()
	c = nil
	if cerr != nil {
		return nil, fmt.Errorf("capture: %w", cerr)
	}
	var got2 [][]byte
	var times2 []time.Time
	if c2 != nil {
		var err error
		got2, err = c2.Stop()
		_, d2 := c2.Stats()
		capDrops += d2
		times2 = c2.Times()
		c2 = nil
		if err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
	}
	txAfter, _ := lab.LinkCounters(hs, sendIf)
	rxAfter, _ := lab.LinkCounters(hc, capIf)
	softAfter := lab.SoftnetDrops()

	if o.corrupt != nil {
		o.corrupt(expected)
	}
	strict := o.Source.Coalesce.Order == coalesce.Strict
	var res compare.Result
	crossReordered := 0
	if two {
		// Each side against its own expectation, then the two together:
		// within every connection, the captures merged by their timestamps
		// must give back the expected order.
		var exp2 [2][]compare.Expected
		for i, e := range expected {
			exp2[sides[i]&1] = append(exp2[sides[i]&1], e)
		}
		res = compare.Frames(exp2[0], got, strict)
		r2 := compare.Frames(exp2[1], got2, strict)
		res.Add(r2, "second interface: ")
		crossReordered = crossOrder(expected, got, times, got2, times2)
		got = append(got, got2...)
	} else {
		res = compare.Frames(expected, got, strict)
	}
	vr := &Report{
		File: name, Expected: len(expected), Skipped: rep.Skipped, SuperPackets: rep.SuperPackets, SegmentsCaptured: len(got), Threads: threads,
		Exact: res.Exact, Normalized: res.Normalized, Mismatched: res.Mismatched, Missing: res.Missing, Extra: res.Extra,
		Reordered: res.Reordered, Details: res.Details, Capture: capDesc, DropsBy: map[string]uint64{},
		CrossSideReordered: crossReordered, TwoInterfaces: two,
	}
	if len(res.NormalizedWhy) > 0 {
		vr.NormalizedWhy = res.NormalizedWhy
	}
	vr.Resegmented = rep.Resegmented
	for _, src := range srcs {
		vr.CoalescedPackets += src.Stats.InSupers
		vr.Packets += src.Stats.Packets
		if src.Stats.Coalesced {
			vr.Packets += src.Stats.Frames - src.Stats.Packets
		}
	}
	if vr.Skipped > 0 {
		vr.Details = append(vr.Details, fmt.Sprintf("%d frames of link types that cannot be sent on Ethernet were skipped", vr.Skipped))
	}
	if rep.Failed > 0 {
		vr.SendFailures = rep.Errors
	}
	vr.DropsBy["capture socket"] = capDrops
	vr.DropsBy[sendIf+" tx_dropped"] = txAfter.TxDropped - txBefore.TxDropped
	if !o.Capture.Outgoing {
		// Only a capture behind the receiver loses what the receiver drops.
		vr.DropsBy[capIf+" rx_dropped"] = rxAfter.RxDropped - rxBefore.RxDropped
		vr.DropsBy["softnet backlog"] = softAfter - softBefore
	}
	for k, v := range vr.DropsBy {
		if v == 0 {
			delete(vr.DropsBy, k)
		}
		vr.Drops += v
	}
	switch {
	case vr.Drops > 0:
		vr.Verdict = VerdictLost
	case res.Mismatched+res.Missing+res.Extra+res.Reordered+crossReordered > 0 || rep.Failed > 0:
		vr.Verdict = VerdictMismatch
	case res.Normalized > 0:
		vr.Verdict = VerdictNormalized
	default:
		vr.Verdict = VerdictExact
	}
	vr.Seconds = time.Since(start).Seconds()
	if o.Keep != "" {
		if err := keep(o.Keep, name, got, res); err != nil {
			return vr, err
		}
	}
	return vr, nil
}

// keep writes the captured frames and the mismatching pairs as pcapng.
func keep(dir, name string, got [][]byte, res compare.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	write := func(file string, frames [][]byte, comments []string) error {
		f, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			return err
		}
		defer f.Close()
		w := pcaps.NewWriter(f, pcaps.WriterOptions{Format: pcaps.FormatPcapNG, Application: "gsoreplay verify"})
		w.DeclareInterfaces([]pcaps.Interface{{LinkType: layers.LinkTypeEthernet, Name: "verify"}})
		ts := time.Now()
		for i, fr := range frames {
			var c []byte
			if comments != nil {
				c = []byte(comments[i])
			}
			if err := w.Write(&pcaps.Packet{Data: fr, Length: len(fr), Timestamp: ts, LinkType: layers.LinkTypeEthernet}, c); err != nil {
				return err
			}
		}
		return w.Flush()
	}
	if err := write(base+".captured.pcapng", got, nil); err != nil {
		return err
	}
	var frames [][]byte
	var comments []string
	for i, p := range res.MismatchedPairs {
		frames = append(frames, p[0], p[1])
		comments = append(comments, fmt.Sprintf("mismatch %d: expected", i+1), fmt.Sprintf("mismatch %d: captured: %s", i+1, compare.Diff(p[0], p[1])))
	}
	return write(base+".mismatched.pcapng", frames, comments)
}

// Validate reports the first option out of range: the pacing's errors,
// ErrInterfaces, or a *coalesce.OptionError naming the field. Zero values
// take defaults.
func (o Options) Validate() error {
	if (o.Iface == "") != (o.CaptureIface == "") {
		return ErrInterfaces
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

// merge puts the shards' expected frames back in capture order, with each
// frame's side: each shard holds its records in order, so a merge by
// record number restores the capture's (frames of one record keep their
// order; a record number 0, for what the coalescer merged, follows the
// frame before it).
func merge(shards [][]keyed) ([]compare.Expected, []split.Side) {
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
		info := inspect.Describe(f, len(f), layers.LinkTypeEthernet, 0)
		if !info.HasFlow {
			return 0
		}
		return info.Flow.Symmetric()
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
