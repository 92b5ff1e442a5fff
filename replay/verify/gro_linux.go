package verify

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/compare"
	"github.com/gsoreplay/gsoreplay/replay/internal/pcapout"
	"github.com/gsoreplay/gsoreplay/replay/lab"
)

// GROOptions configure VerifyGRO.
type GROOptions struct {
	// Iface and CaptureIface name existing interfaces (B with its
	// hardware GRO or LRO on); both empty builds a lab whose receiver runs
	// GRO with FlushTimeout and DeferIRQs.
	Iface, CaptureIface string
	// FlushTimeout (default 1 ms) and DeferIRQs (default 10): the
	// receiver's gro_flush_timeout and napi_defer_hard_irqs, which let
	// frames sent back to back meet in one NAPI poll.
	FlushTimeout time.Duration
	DeferIRQs    int
	Pacing       replay.Pacing // default: top speed
	Batch        int
	Capture      capture.Options
	// Coalesce are the options whose merges GRO's are compared with.
	Coalesce coalesce.Options
	// Keep, if set, is a directory for what GRO made, as a coalesced
	// pcapng that gsoreplay segment turns back into the input.
	Keep string
	// Idle ends the capture when nothing came for this long (300 ms).
	Idle time.Duration
	// MTU of the sender (the lab's: 1500).
	MTU int
}

// GROReport is one input's verdict on the receive side.
type GROReport struct {
	File string `json:"file"`
	// Packets is the frames sent; Received what GRO handed up, GROPackets
	// of them merged (gso_size set) standing for GROMerged frames.
	Packets      int64   `json:"packets"`
	Received     int     `json:"received"`
	GROPackets   int     `json:"gro_packets"`
	GROMerged    int     `json:"gro_merged"`
	MeanSegments float64 `json:"mean_segments"`
	// LargestBytes is the largest GRO packet's length (its frame): above
	// 65549 only with BIG TCP.
	LargestBytes int `json:"largest_bytes,omitempty"`
	// Lossless and Lossy classify the GRO packets: the reference
	// segmentation of one, with its gso_size, gives back the frames it
	// replaced byte for byte, or not.
	Lossless int `json:"lossless"`
	Lossy    int `json:"lossy"`
	// Mismatched counts frames handed up alone that differ from the frame
	// sent; Missing the frames sent that never came up; Extra what came
	// up and was not sent.
	Mismatched int `json:"mismatched"`
	Missing    int `json:"missing"`
	Extra      int `json:"extra"`
	// Reordered counts frames that came up after a frame of their flow
	// sent later.
	Reordered int               `json:"reordered,omitempty"`
	Drops     uint64            `json:"drops"`
	DropsBy   map[string]uint64 `json:"drops_by,omitempty"`
	Verdict   GROVerdict        `json:"verdict"`
	Details   []string          `json:"details,omitempty"`
	// Series is the replay's (rates, send-time error; see replay.Series).
	Series *replay.Series `json:"series,omitempty"`
	// Against coalesce: what GRO merged that coalesce would not (by
	// coalesce's reason), and coalesce's merges GRO left apart.
	CoalesceSuperPackets int64          `json:"coalesce_super_packets"`
	CoalesceMerged       int64          `json:"coalesce_merged"`
	GROMergesRefused     int            `json:"gro_merges_coalesce_refuses"`
	RefusedBecause       map[string]int `json:"coalesce_reasons,omitempty"`
	CoalesceMergesSplit  int            `json:"coalesce_merges_gro_split"`
	Seconds              float64        `json:"seconds"`
	Receiver             string         `json:"receiver"`
	// Interrupted: the run was stopped (Ctrl-C): the counts are what was
	// checked until then.
	Interrupted bool             `json:"interrupted,omitempty"`
	Segmented   map[string]int64 `json:"gso_types,omitempty"`
}

// GROVerdict is the outcome of VerifyGRO for one input, from best to
// worst; in JSON and text, the word of its String.
type GROVerdict uint8

// GRO verdicts: every GRO packet lossless and nothing lost; a merge the
// segmentation cannot give back; frames lost.
const (
	GROLossless GROVerdict = iota + 1
	GROLossy
	GROLost
	// GROInterrupted: the run was stopped before the end.
	GROInterrupted
)

var groVerdictWords = [...]string{GROLossless: "lossless", GROLossy: "lossy", GROLost: "lost", GROInterrupted: "interrupted"}

func (v GROVerdict) String() string {
	if int(v) < len(groVerdictWords) && groVerdictWords[v] != "" {
		return groVerdictWords[v]
	}
	return fmt.Sprintf("GROVerdict(%d)", uint8(v))
}

// MarshalText writes the word.
func (v GROVerdict) MarshalText() ([]byte, error) {
	if int(v) >= len(groVerdictWords) || groVerdictWords[v] == "" {
		return nil, fmt.Errorf("verify: no GRO verdict %d", uint8(v))
	}
	return []byte(v.String()), nil
}

// UnmarshalText reads the word.
func (v *GROVerdict) UnmarshalText(b []byte) error {
	for i, w := range groVerdictWords {
		if w != "" && w == string(b) {
			*v = GROVerdict(i)
			return nil
		}
	}
	return fmt.Errorf("verify: unknown GRO verdict %q", b)
}

// Passed reports the verdict that proves GRO's merges: lossless.
func (v GROVerdict) Passed() bool { return v == GROLossless }

// frameRec is a frame sent: its bytes, time and place.
type frameRec struct {
	data []byte
	ts   time.Time
}

// sentFrames records every frame sent, as an Observer.
type sentFrames []frameRec

func (f *sentFrames) Frame(_ int, p *pcaps.Packet, _ int64) {
	*f = append(*f, frameRec{append([]byte(nil), p.Data...), p.Timestamp})
}

func (f *sentFrames) Sent(int, *replay.Sent) error { return nil }

// sendNoted replays a capture through the testbed tb with ro, noting
// every frame sent, and waits until the captures have been quiet for idle
// (GRO packets stand for several frames: their count is not known in
// advance). A receiver's NAPI waits up to flushTimeout before it drains its
// ring, so sends are retried for twice that: a full ring is waited out,
// not counted lost. What the kernel dropped, or refused to send, goes to
// dropsBy and drops, the replay's series to series.
func sendNoted(ctx context.Context, tb *lab.Testbed, name string, open replay.Opener, ro replay.Options, flushTimeout, idle time.Duration,
	dropsBy *map[string]uint64, drops *uint64, series **replay.Series) (sentFrames, []lab.Output, error) {
	before, err := tb.Counters()
	if err != nil {
		return nil, nil, err
	}
	var sent sentFrames
	ro.Retries, ro.Observer, ro.In = int(2*flushTimeout/(50*time.Microsecond))+8, &sent, tb.InSender
	rep, err := replay.Replay(ctx, name, open, tb.Send, ro)
	if err != nil && (rep == nil || ctx.Err() == nil) {
		return nil, nil, err
	}
	*series = rep.Series
	wctx, idle := waitCtx(ctx, idle)
	out, after, err := tb.Finish(wctx, -1, idle)
	if err != nil {
		return nil, nil, err
	}
	*dropsBy = tb.Drops(before, after, out[0].Drops)
	if rep.Failed > 0 {
		(*dropsBy)["sends refused"] = uint64(rep.Failed)
	}
	*drops = tb.Lost(*dropsBy)
	return sent, out, nil
}

// VerifyGRO sends a capture frame by frame, as captured, into a receiver
// that runs GRO, captures what GRO hands up with its virtio header, and
// checks every merge: the reference segmentation of a GRO packet must give
// back the very frames it replaced.
func VerifyGRO(ctx context.Context, name string, open replay.Opener, o GROOptions) (*GROReport, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	start := time.Now()
	tb, err := lab.NewTestbed(o.testbed())
	if err != nil {
		return nil, err
	}
	defer tb.Close()
	report := &GROReport{File: name, Receiver: tb.Where}
	// Send every frame as it was captured; note each.
	ro := replay.Options{Pacing: o.Pacing, Loops: 1, Batch: o.Batch, Threads: 1,
		Source: replay.SourceOptions{NoCoalesce: true, MTU: max(o.MTU, 1500)}}
	sent, out, err := sendNoted(ctx, tb, name, open, ro, o.FlushTimeout, o.Idle, &report.DropsBy, &report.Drops, &report.Series)
	if err != nil {
		return nil, err
	}
	report.Packets = int64(len(sent))
	got, vnets := out[0].Frames, out[0].Vnets

	groups := report.check(sent, got, vnets, nil)
	report.compareCoalesce(sent, groups, o.Coalesce)
	switch {
	case report.Drops > 0 || report.Missing > 0:
		report.Verdict = GROLost
	case report.Lossy+report.Mismatched+report.Extra > 0:
		report.Verdict = GROLossy
	default:
		report.Verdict = GROLossless
	}
	report.Seconds = time.Since(start).Seconds()
	if err := ctx.Err(); err != nil {
		report.Interrupted, report.Verdict = true, GROInterrupted
		return report, fmt.Errorf("interrupted after %d frames were sent: %w", report.Packets, err)
	}
	if o.Keep != "" {
		if err := keepGRO(o.Keep, name, sent, got, vnets, groups); err != nil {
			return report, err
		}
	}
	return report, nil
}

// defaults fills what is left to defaults (sendDefaults, a 1 ms flush
// timeout, 10 deferred IRQs) and validates the options.
func (o *GROOptions) defaults() error {
	sendDefaults(&o.Pacing, &o.Batch, &o.Idle)
	groDefaults(&o.FlushTimeout, &o.DeferIRQs)
	return o.Validate()
}

// groDefaults fills a GRO receiver's settings (verify --gro's, the
// router's ingress): a 1 ms flush timeout, 10 deferred IRQs.
func groDefaults(flush *time.Duration, deferIRQs *int) {
	if *flush == 0 {
		*flush = time.Millisecond
	}
	if *deferIRQs == 0 {
		*deferIRQs = 10
	}
}

// validateSend checks what VerifyGRO and VerifyForward send with: the
// quiet that ends a capture, then replay's own checks.
func validateSend(idle time.Duration, p replay.Pacing, batch int, co coalesce.Options) error {
	if idle < 0 {
		return &coalesce.OptionError{Option: "Idle", Value: idle.String(), Want: "must not be negative"}
	}
	ro := replay.Options{Pacing: p, Batch: batch, Source: replay.SourceOptions{Coalesce: co}}
	return ro.Validate()
}

// testbed is where the options send and capture.
func (o *GROOptions) testbed() lab.TestbedOptions {
	return lab.TestbedOptions{Iface: o.Iface, CaptureIface: o.CaptureIface, GRO: true,
		FlushTimeout: o.FlushTimeout, DeferIRQs: o.DeferIRQs, Capture: o.Capture}
}

// Validate reports the first option out of range: lab.ErrInterfaces, the
// pacing's errors, or a *coalesce.OptionError naming the field. Zero
// values take defaults.
func (o GROOptions) Validate() error {
	if err := o.testbed().Validate(); err != nil {
		return err
	}
	if o.MTU < 0 || o.MTU > lab.ReceiverMTU {
		return &coalesce.OptionError{Option: "MTU", Value: fmt.Sprint(o.MTU), Want: fmt.Sprintf("want 0..%d", lab.ReceiverMTU)}
	}
	return validateSend(o.Idle, o.Pacing, o.Batch, o.Coalesce)
}

// groGroup is a packet GRO handed up: its index among what was captured
// and the indices of the frames sent that it stands for.
type groGroup struct {
	got    int
	frames []int
	bad    []int // the frames of frames that came back different
	merged bool  // a GRO packet (gso_size set)
	ok     bool  // its frames given back exactly
}

// check matches what came up with what was sent, flow by flow: a GRO
// packet's reference segmentation must give back the next frames of its
// flow, a frame alone the next frame. Details name sent[i] as frame
// number(i) (i+1 if nil).
func (r *GROReport) check(sent []frameRec, got [][]byte, vnets []gso.VnetHeader, number func(int) int) []groGroup {
	if number == nil {
		number = func(i int) int { return i + 1 }
	}
	queue := map[coalesce.Flow][]int{}
	for i, s := range sent {
		k := flowOf(s.data)
		queue[k] = append(queue[k], i)
	}
	var seg gso.Segmenter
	var groups []groGroup
	var ahead sentIndex
	taken := make([]bool, len(sent))  // came up (or were told lost by a lossy packet)
	latest := map[coalesce.Flow]int{} // the latest frame sent of each flow that came up
	r.Segmented = map[string]int64{}
	for gi, f := range got {
		h := vnets[gi]
		segs, merged, err := compare.GROFrames(&seg, f, h)
		g := groGroup{got: gi, ok: true, merged: merged}
		if merged {
			r.GROPackets++
			r.LargestBytes = max(r.LargestBytes, len(f))
			r.Segmented[h.GSOType.String()]++
			if err != nil {
				// Lossy: which frames it held is told by its flow and size
				// (a fraglist GRO packet, say, whose header says USO without
				// NEEDS_CSUM), so that they are not counted lost.
				r.Lossy++
				r.detail("GRO packet %d (%d bytes, %s gso_size %d): the reference segmentation refuses it: %v", gi+1, len(f), h.GSOType, h.GSOSize, err)
				g := groGroup{got: gi, merged: true}
				if n := segmentsIn(f, h); n > 0 {
					k := flowOf(f)
					q := untaken(queue[k], taken)
					take := min(n, len(q))
					g.frames = append([]int(nil), q[:take]...)
					g.bad = g.frames
					for _, i := range g.frames {
						taken[i] = true
					}
					queue[k] = q[take:]
					r.GROMerged += take
				}
				groups = append(groups, g)
				continue
			}
		} else if err != nil {
			r.Mismatched++
			r.detail("packet %d (%d bytes): its checksum cannot be finished: %v", gi+1, len(f), err)
			groups = append(groups, groGroup{got: gi})
			continue
		}
		k := flowOf(segs[0])
		q := queue[k]
		for si, sg := range segs {
			q = untaken(q, taken)
			if len(q) == 0 {
				r.Extra++
				g.ok = false
				r.detail("packet %d: segment %d of %d has no frame sent left in its flow", gi+1, si+1, len(segs))
				break
			}
			// The next frame of the flow, or, if this is not it, the one
			// it is further on: frames lost on the way leave a gap, and a
			// frame handed up early (GRO sends what it refuses before what
			// it holds) makes the ones it passed late. A frame found
			// nowhere (changed) is taken for the one after the latest that
			// came.
			i := q[0]
			if !bytes.Equal(sent[i].data, sg) {
				if p := ahead.find(sent, q, taken, sg); p > 0 {
					i = q[p]
				} else if l, seen := latest[k]; p < 0 && seen {
					i = nextAfter(q, taken, l, i)
				}
			}
			taken[i] = true
			if i < latest[k] {
				r.Reordered++
				r.detail("packet %d (frame %d sent): came after frame %d sent", gi+1, number(i), number(latest[k]))
			}
			latest[k] = max(latest[k], i)
			g.frames = append(g.frames, i)
			if want := sent[i].data; !bytes.Equal(want, sg) {
				g.ok = false
				g.bad = append(g.bad, i)
				r.detail("packet %d (frame %d sent): segment %d of %d differs: %s", gi+1, number(i), si+1, len(segs), compare.Diff(want, sg))
			}
		}
		queue[k] = q
		switch {
		case g.merged && g.ok:
			r.Lossless++
			r.GROMerged += len(g.frames)
		case g.merged:
			r.Lossy++
			r.GROMerged += len(g.frames)
		case !g.ok:
			r.Mismatched++
		}
		groups = append(groups, g)
	}
	r.Received = len(got)
	for _, q := range queue {
		for _, i := range q {
			if !taken[i] {
				r.Missing++
			}
		}
	}
	if r.Missing > 0 {
		r.detail("%d frames sent never came up", r.Missing)
	}
	if r.GROPackets > 0 {
		r.MeanSegments = float64(int(10*float64(r.GROMerged)/float64(r.GROPackets))) / 10
	}
	return groups
}

// sentIndex finds a frame among those sent by its bytes, built on the
// first search (a run without loss never needs it).
type sentIndex struct {
	seed maphash.Seed
	at   map[uint64][]int // the frames sent with these bytes' hash
}

// find is where in the flow's queue q the frame f was sent and has not
// been taken, -1 if it is not there (q holds indexes of sent, in order).
func (x *sentIndex) find(sent []frameRec, q []int, taken []bool, f []byte) int {
	if x.at == nil {
		x.seed, x.at = maphash.MakeSeed(), make(map[uint64][]int, len(sent))
		for i, s := range sent {
			h := maphash.Bytes(x.seed, s.data)
			x.at[h] = append(x.at[h], i)
		}
	}
	for _, i := range x.at[maphash.Bytes(x.seed, f)] {
		if p, ok := slices.BinarySearch(q, i); ok && !taken[i] && bytes.Equal(sent[i].data, f) {
			return p
		}
	}
	return -1
}

// untaken is the queue q from its first frame not taken.
func untaken(q []int, taken []bool) []int {
	for len(q) > 0 && taken[q[0]] {
		q = q[1:]
	}
	return q
}

// nextAfter is the first frame of the queue q sent after frame latest and
// not taken, or else first.
func nextAfter(q []int, taken []bool, latest, first int) int {
	p, _ := slices.BinarySearch(q, latest+1)
	for ; p < len(q); p++ {
		if !taken[q[p]] {
			return q[p]
		}
	}
	return first
}

// segmentsIn is how many segments of gso_size a GSO packet's payload
// makes, its headers (Ethernet, IP, TCP or UDP) parsed; 0 if they cannot be.
func segmentsIn(f []byte, h gso.VnetHeader) int {
	off, et, st := header.Network(f, layers.LinkTypeEthernet)
	if st != header.LinkOK || h.GSOSize == 0 {
		return 0
	}
	var l4 []byte
	var proto uint8
	switch et {
	case header.EtherTypeIPv4:
		ip := header.IPv4(f[off:])
		if !ip.IsValid() {
			return 0
		}
		l4, proto = ip.Payload(), ip.Protocol()
	case header.EtherTypeIPv6:
		ip := header.IPv6(f[off:])
		if !ip.IsValid() {
			return 0
		}
		o, p, st := ip.Transport()
		if st != header.ExtOK || o > len(ip) {
			return 0
		}
		l4, proto = ip[o:], p
	default:
		return 0
	}
	hl := 0
	switch {
	case proto == header.ProtoTCP && header.TCP(l4).IsValid():
		hl = header.TCP(l4).DataOffset()
	case proto == header.ProtoUDP && len(l4) >= header.UDPSize:
		hl = header.UDPSize
	default:
		return 0
	}
	size := int(h.GSOSize)
	return (len(l4) - hl + size - 1) / size
}

func (r *GROReport) detail(format string, args ...any) {
	if len(r.Details) < compare.MaxDetails {
		r.Details = append(r.Details, fmt.Sprintf(format, args...))
	}
}

// compareCoalesce sets GRO's merges beside coalesce's on the same frames:
// each pair of neighbours GRO merged that coalesce keeps apart (and why),
// and each pair coalesce merges that GRO left apart.
func (r *GROReport) compareCoalesce(sent []frameRec, groups []groGroup, opts coalesce.Options) {
	gro := make([]int, len(sent)) // GRO packet of each frame, -1 alone
	for i := range gro {
		gro[i] = -1
	}
	for gi, g := range groups {
		if g.merged {
			for _, f := range g.frames {
				gro[f] = gi
			}
		}
	}
	co := coalesceGroups(sent, opts, &r.CoalesceSuperPackets, &r.CoalesceMerged)
	r.RefusedBecause = map[string]int{}
	for _, g := range groups {
		for k := 1; k < len(g.frames) && g.merged; k++ {
			a, b := g.frames[k-1], g.frames[k]
			if co[a] >= 0 && co[a] == co[b] {
				continue
			}
			r.GROMergesRefused++
			r.RefusedBecause[pairReason(sent[a], sent[b], opts)]++
		}
	}
	// Coalesce's groups, frame by frame in order: neighbours GRO split.
	last := map[int]int{}
	for i, cg := range co {
		if cg < 0 {
			continue
		}
		if prev, ok := last[cg]; ok && (gro[prev] < 0 || gro[prev] != gro[i]) {
			r.CoalesceMergesSplit++
		}
		last[cg] = i
	}
	if len(r.RefusedBecause) == 0 {
		r.RefusedBecause = nil
	}
}

// coalesceGroups runs the coalescer over the frames and gives each frame
// its super-packet's number (-1 alone). Records come out in the order of
// their first frame, and a super-packet's skips place its later frames.
func coalesceGroups(sent []frameRec, opts coalesce.Options, supers, merged *int64) []int {
	out := make([]int, len(sent))
	for i := range out {
		out[i] = -2 // not placed yet
	}
	next, n := 0, 0
	c := coalesce.New(opts, func(rec *coalesce.Record) error {
		for next < len(out) && out[next] != -2 {
			next++
		}
		pos := next
		id := -1
		if rec.Meta.Segs > 1 {
			id = n
			n++
		}
		for k := 0; k < rec.Meta.Segs && pos < len(out); k++ {
			if k > 0 {
				pos++
				if len(rec.Meta.Skips) > 0 {
					pos += int(rec.Meta.Skips[k-1])
				}
			}
			if pos < len(out) {
				out[pos] = id
			}
		}
		return nil
	})
	for _, s := range sent {
		p := pcaps.Packet{Data: s.data, Length: len(s.data), Timestamp: s.ts, LinkType: layers.LinkTypeEthernet}
		c.Push(&p)
	}
	c.Close()
	*supers, *merged = c.Stats().SuperPackets, c.Stats().Merged
	for i := range out {
		if out[i] == -2 {
			out[i] = -1
		}
	}
	return out
}

// pairReason is why coalesce keeps two frames apart: the reason its
// coalescer gives for these two alone.
func pairReason(a, b frameRec, opts coalesce.Options) string {
	c := coalesce.New(opts, func(*coalesce.Record) error { return nil })
	for _, s := range []frameRec{a, b} {
		p := pcaps.Packet{Data: s.data, Length: len(s.data), Timestamp: s.ts, LinkType: layers.LinkTypeEthernet}
		c.Push(&p)
	}
	c.Close()
	st := c.Stats()
	for _, why := range coalesce.Reasons() {
		if st.Refused[why] > 0 {
			return why.Key()
		}
	}
	for _, why := range coalesce.Reasons() {
		if why != coalesce.ReasonEnd && st.Flushes[why] > 0 {
			return why.Key()
		}
	}
	// The two alone merge: a limit of the whole run parted them
	// (--max-segments, --max-bytes, --max-held, --max-flows).
	return "run_limits"
}

// keepGRO writes what GRO handed up as a coalesced pcapng: each GRO packet
// with its virtio header, the timing and places of the frames it stands
// for, so that gsoreplay segment gives back the frames sent.
func keepGRO(dir, name string, sent []frameRec, got [][]byte, vnets []gso.VnetHeader, groups []groGroup) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	origin := capfile.Origin{Format: pcaps.FormatPcap, Nanosecond: true, SectionLength: -1}
	var kept []groGroup
	for _, g := range groups {
		if len(g.frames) > 0 {
			kept = append(kept, g)
		}
	}
	sort.Slice(kept, func(a, b int) bool { return kept[a].frames[0] < kept[b].frames[0] })
	frames := func(yield func(pcapout.Frame) bool) {
		for _, g := range kept {
			fr := pcapout.Frame{Data: got[g.got], Time: sent[g.frames[0]].ts}
			if g.merged {
				m := coalesce.Meta{Vnet: vnets[g.got], Segs: len(g.frames)}
				skipped := false
				for k := 1; k < len(g.frames); k++ {
					m.Deltas = append(m.Deltas, sent[g.frames[k]].ts.Sub(sent[g.frames[k-1]].ts).Nanoseconds())
					skip := g.frames[k] - g.frames[k-1] - 1
					m.Skips = append(m.Skips, int32(skip))
					skipped = skipped || skip != 0
				}
				if !skipped {
					m.Skips = nil
				}
				fr.Comment = coalesce.AppendComment(nil, &m)
			}
			if !yield(fr) {
				return
			}
		}
	}
	return pcapout.Write(filepath.Join(dir, base+".gro.pcapng"), pcaps.WriterOptions{Comment: origin.String(), Application: "gsoreplay verify --gro"}, []string{"gro"}, frames)
}
