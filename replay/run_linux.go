package replay

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/hugemem"
)

// errStop ends a replay before the end of its passes: a limit, the
// duration, cancellation, or Options.Step.
var errStop = ErrStop

// stopped is ctx's error, looked at every 4096th packet n: a long read
// stops soon after Ctrl-C, at no cost per packet.
func stopped(ctx context.Context, n int64) error {
	if n&4095 != 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reading stopped: %w", err)
	}
	return nil
}

// pipeline is one shard of a replay: the packets of its connections go
// through its Source and leave through its Sender, paced by its Schedule
// on the clock all shards share.
type pipeline struct {
	index   int
	src     *source
	s       *sender
	sched   *schedule
	items   []item // preloaded
	arena   *hugemem.Arena
	ring    []byte // what a streamed pcap is read into (stream)
	lastDue time.Time
	left    time.Time    // when its last batch of the pass left
	sent    atomic.Int64 // frames accepted, for progress
	bytes   atomic.Int64 // and their bytes
	firstAt time.Time    // when its first item was queued
}

// noteSent publishes what the sender accepted so far, for progress.
func (p *pipeline) noteSent() {
	p.sent.Store(p.s.Stats.Frames)
	p.bytes.Store(p.s.Stats.Bytes)
}

// runState is what the shards of one replay share.
type runState struct {
	ctx      context.Context
	o        Options
	deadline time.Time
	queued   atomic.Int64 // frames queued by all shards, for Limit
	// part is what one pass took of the capture (Options.Part), written
	// by the reader of pipeline 0.
	part *PartReport
	// An interactive replay's items so far, and how many to send before
	// asking again (Options.Step; one pipeline).
	stepped, stepLeft int64
	// The pass's address shift (Options.UniqueIP), set before it starts.
	unique  bool
	uniqueK uint64
	// start is when the run began (after a preload, or StartAt): the
	// origin of the report's series.
	start time.Time
}

// edit applies the pass's edits that depend on the loop to an item.
func (st *runState) edit(it *item) {
	if st.unique {
		uniqueIPs(it.Frame, st.uniqueK, st.o.Preload)
	}
}

// run sends every item of the capture through the senders, one pipeline
// per sender, and reports what they did (not the interface's counters:
// Replay adds those). With one sender the capture keeps its global order;
// with several, Shard splits it by connection and each pipeline — its own
// Source, coalescer and socket, on a goroutine of its own (pinned to
// o.CPUs when given) — keeps the order within its connections, paced on
// one shared clock: original timing anchored to the capture's first
// packet, rates counted over all pipelines together.
func run(ctx context.Context, open Opener, senders []*sender, srcs []*source, smp *sampler, o Options) (Report, error) {
	var rep Report
	if len(senders) == 0 || len(senders) != len(srcs) {
		return rep, fmt.Errorf("replay: %d senders for %d sources", len(senders), len(srcs))
	}
	n := len(senders)
	ps := make([]*pipeline, n)
	for i := range ps {
		ps[i] = &pipeline{index: i, src: srcs[i], s: senders[i]}
	}
	st := &runState{ctx: ctx, o: o}
	defer func() {
		for _, p := range ps {
			if p.arena != nil {
				p.s.done() // after an error: nothing may point into the ring
				p.arena.Free()
			}
		}
	}()
	if o.FlowStats {
		for _, p := range ps {
			p.src.flows = newFlowTable(o.FlowExpiry)
		}
	}
	var first time.Time
	if o.Preload {
		free, f, part, err := preload(ctx, open, ps, o.PreloadMax, o.Part)
		if err != nil {
			return rep, err
		}
		defer free()
		first, st.part = f, part
	}
	start := time.Now()
	if !o.StartAt.IsZero() {
		if late := start.Sub(o.StartAt); late > 0 {
			return rep, fmt.Errorf("replay: the start time %s passed %v ago (before the capture was ready); choose a later one", o.StartAt.Format(time.RFC3339Nano), late.Round(time.Microsecond))
		}
		// Every item waits for its due time on the schedule, which
		// starts at StartAt; a stream reads ahead meanwhile.
		start = o.StartAt
	}
	var count sharedCount // rate pacing holds for all shards together
	st.start = start
	smp.begin(start)
	for _, p := range ps {
		if !o.Pacing.Topspeed && o.Step == nil { // else nothing is due: no clock read per send
			p.s.lag, p.s.origin = newLagRecorder(), start
		}
		p.sched = newSchedule(o.Pacing, start)
		p.sched.Share(&count)
		p.sched.hold = !o.StartAt.IsZero()
		if !p.sched.hold {
			p.sched.Lazy()
		}
	}
	if o.Duration > 0 {
		st.deadline = start.Add(o.Duration)
	}
	stopProgress := st.progress(ps)
	stopped := false // by --limit, --duration or cancellation: not every frame is due
	for {
		if o.UniqueIP {
			st.unique, st.uniqueK = uniqueLoop(rep.Loops+1, max(o.UniqueLoops, 1))
			for _, p := range ps {
				p.src.flowShift, p.src.flowK = st.unique, st.uniqueK
			}
		}
		var err error
		if o.Preload {
			err = st.parallel(ps, func(p *pipeline) error {
				p.sched.Begin(first)
				for i := range p.items {
					if err := st.send(p, &p.items[i], true); err != nil {
						return err
					}
				}
				return p.flush()
			})
		} else {
			err = st.stream(open, ps)
		}
		if err != nil && !errors.Is(err, errStop) {
			stopProgress()
			return rep, err
		}
		rep.Loops++
		if errors.Is(err, errStop) {
			stopped = true
			break
		}
		if o.Loops > 0 && rep.Loops >= o.Loops {
			break
		}
		var last time.Duration
		for _, p := range ps {
			last = max(last, p.sched.Last())
		}
		if o.LoopDelay > 0 {
			sleepUntil(ctx, time.Now().Add(o.LoopDelay))
		}
		for _, p := range ps {
			p.sched.NextLoopAt(last)
			p.sched.Shift(o.LoopDelay)
		}
	}
	stopProgress()
	if err := st.parallel(ps, func(p *pipeline) error { return p.s.Flush() }); err != nil {
		return rep, err
	}
	end := time.Now()
	if !stopped {
		if err := accounted(ps, o.Preload, rep.Loops); err != nil {
			return rep, err
		}
	}
	rep.Threads = n
	rep.Errors = map[string]int64{}
	var lastDue time.Time
	for _, p := range ps {
		s := p.s.Stats
		rep.Packets += s.Frames
		rep.Bytes += s.Bytes
		rep.Sends += s.Items
		rep.Syscalls += s.Syscalls
		rep.Failed += s.Failed
		rep.Retried += s.Retried
		for k, v := range s.Errors {
			rep.Errors[k] += v
		}
		rep.Skipped += p.src.Stats.Skipped
		rep.Unsent += p.src.Stats.Unsent
		if o.Iface2 != "" {
			if rep.Sides == nil {
				rep.Sides = make([]SideReport, 2)
			}
			for i := range rep.Sides {
				rep.Sides[i].Packets += s.SideFrames[i]
				rep.Sides[i].Bytes += s.SideBytes[i]
			}
		}
		rep.SuperPackets += p.src.Stats.Supers
		rep.Resegmented += p.src.Stats.Built
		if p.lastDue.After(lastDue) {
			lastDue = p.lastDue
		}
		if !p.firstAt.IsZero() && (rep.FirstFrameAt.IsZero() || p.firstAt.Before(rep.FirstFrameAt)) {
			rep.FirstFrameAt = p.firstAt
		}
	}
	rep.LastFrameAt, rep.Part = end, st.part
	paced := !o.Pacing.Topspeed && o.Pacing.PPS == 0 && o.Pacing.Mbps == 0
	if paced && !lastDue.IsZero() {
		// The last frame left when the last pipeline's last batch did.
		left := end
		if ps[0].left.After(lastDue) {
			left = ps[0].left
			for _, p := range ps[1:] {
				if p.left.After(left) {
					left = p.left
				}
			}
		}
		rep.EndDriftMS = float64(left.Sub(lastDue).Microseconds()) / 1000
	}
	passes := int64(1) // how many times the sources' counts were sent
	if o.Preload && rep.Loops > 1 {
		// The sources counted one pass; every loop sent them all again.
		passes = int64(rep.Loops)
		rep.SuperPackets *= passes
		rep.Resegmented *= passes
	}
	rep.Series, rep.Coalescing = series(ps, passes, o.Source.Coalesce)
	// From the first frame, as tcpreplay counts: the schedule starts when
	// the first item is ready (schedule.Lazy), not while the capture is
	// opened and its first batch read.
	from := start
	if rep.FirstFrameAt.After(start) {
		from = rep.FirstFrameAt
	}
	rep.Seconds = end.Sub(from).Seconds()
	if rep.Seconds > 0 {
		rep.PPS = float64(rep.Packets) / rep.Seconds
		rep.Mbps = float64(rep.Bytes) * 8 / rep.Seconds / 1e6
	}
	if o.FlowStats {
		t := ps[0].src.flows
		for _, p := range ps[1:] {
			t.merge(p.src.flows)
		}
		var last uint64
		if o.UniqueIP {
			last = uniqueIteration(rep.Loops-1, max(o.UniqueLoops, 1))
		}
		rep.Flows = flowReport(t, o.Preload, rep.Loops, last, rep.Seconds)
	}
	return rep, nil
}

// seriesHow says how Series stays bounded.
const seriesHow = "interface counters sampled every 10 ms, every other sample dropped and the period doubled whenever 1024 are held; send error in at most 512 bins from 1 ms wide, doubling, each with count, min, mean and max"

// segmentCounts is a super-packet histogram as counts of every bucket.
func segmentCounts(h *[8]int64) []Count {
	names := coalesce.SegmentBucketNames()
	out := make([]Count, len(names))
	for i, n := range names {
		out[i] = Count{Label: n, Count: h[i]}
	}
	return out
}

// series is what the pipelines' counters add up to, for the report: the
// wire's rates are Replay's to add. passes multiplies the sources' counts.
func series(ps []*pipeline, passes int64, co coalesce.Options) (*Series, *coalesce.Summary) {
	s := &Series{How: seriesHow, Wire: []WireSeries{}}
	var segs [8]int64
	var cst *coalesce.Stats
	lag := newLagRecorder()
	for _, p := range ps {
		st := p.s.Stats
		s.Threads = append(s.Threads, ThreadSeries{Thread: p.index, Frames: st.Frames, Bytes: st.Bytes, Sends: st.Items,
			SuperPackets: p.src.Stats.Supers * passes, Failed: st.Failed})
		for i, n := range p.src.Stats.Segs {
			segs[i] += n * passes
		}
		if p.s.lag != nil {
			lag.merge(p.s.lag)
		}
		if c := p.src.Stats.Coalescing; c != nil {
			if cst == nil {
				cst = &coalesce.Stats{}
			}
			cst.Add(c)
		}
	}
	s.Segments, s.SendError = segmentCounts(&segs), lag.series()
	if cst == nil {
		return s, nil
	}
	sum := cst.Summary(co, 0)
	return s, &sum
}

// accounted checks, after passes that nothing stopped, that every frame
// the sources handed on reached a socket, sent or refused (refusals are
// reported on their own): a frame lost inside the pipelines is an error,
// never a shorter report that looks complete. A preload's sources count
// one pass, sent loops times.
func accounted(ps []*pipeline, preload bool, loops int) error {
	var handed, reached int64
	for _, p := range ps {
		handed += p.src.Stats.Frames
		reached += p.s.Stats.Frames + p.s.Stats.FailedFrames
	}
	if preload {
		handed *= int64(loops)
	}
	if handed != reached {
		return fmt.Errorf("replay: the capture's items stand for %d frames, but %d reached the socket (sent or refused): %d lost on the way", handed, reached, handed-reached)
	}
	return nil
}

// flush sends what p has queued at the end of a pass, and notes when.
func (p *pipeline) flush() error {
	err := p.s.Flush()
	p.left = time.Now()
	p.noteSent()
	return err
}

// send paces one item of shard p and queues it.
func (st *runState) send(p *pipeline, it *item, stable bool) error {
	if err := st.ctx.Err(); err != nil {
		return errStop
	}
	if st.o.Limit > 0 && st.queued.Load() >= st.o.Limit {
		return errStop
	}
	if !st.deadline.IsZero() && time.Now().After(st.deadline) {
		return errStop
	}
	st.edit(it)
	start := p.firstAt.IsZero() && !st.o.StartAt.IsZero() // the instant the shards share
	it.paced = false
	if st.o.Step != nil {
		if err := st.ask(); err != nil {
			return err
		}
	} else if due := p.sched.Due(it.Timestamp, it.Segs, it.Wire); !due.IsZero() {
		it.paced, it.due = !st.o.Pacing.Topspeed, due.Sub(st.start) // top speed waits for StartAt only
		if time.Until(due) > 0 {
			if err := p.s.Flush(); err != nil {
				return err
			}
			p.noteSent()
			if start {
				sleepPrecise(st.ctx, due)
			} else {
				sleepUntil(st.ctx, due)
			}
		}
		p.lastDue = due
	}
	if st.o.Limit > 0 { // a counter all pipelines write: only when it is needed
		st.queued.Add(int64(it.Segs))
	}
	if p.firstAt.IsZero() {
		p.firstAt = time.Now()
	}
	err := p.s.Queue(it, stable)
	if err == nil && (start || st.o.Step != nil) {
		err = p.s.Flush() // at once, not with the batch
	}
	p.noteSent()
	return err
}

// ask counts an item of an interactive replay (Options.Step) and, when
// the last answer is used up, asks how many to send next.
func (st *runState) ask() error {
	st.stepped++
	if st.stepLeft <= 0 {
		n, err := st.o.Step(st.stepped)
		if err != nil {
			return err
		}
		st.stepLeft = max(n, 1)
	}
	st.stepLeft--
	return nil
}

// parallel runs fn for every shard, each on a goroutine of its own locked
// to its thread (and pinned to a CPU when asked), and returns the first
// error that is not a stop, else a stop, else nil. One shard runs inline.
func (st *runState) parallel(ps []*pipeline, fn func(p *pipeline) error) error {
	if len(ps) == 1 {
		return fn(ps[0])
	}
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cpus := st.o.CPUs; len(cpus) > 0 {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var set unix.CPUSet
				set.Set(cpus[i%len(cpus)])
				_ = unix.SchedSetaffinity(0, &set) // best effort: an offline CPU is not fatal
			}
			errs[i] = fn(p)
		}()
	}
	wg.Wait()
	var stop error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, errStop):
			stop = err
		default:
			return err
		}
	}
	return stop
}

// progress reports the frames sent every 100 ms until the returned func is
// called.
func (st *runState) progress(ps []*pipeline) func() {
	if st.o.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var n, b int64
				for _, p := range ps {
					n += p.sent.Load()
					b += p.bytes.Load()
				}
				st.o.Progress(n, b)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// preload reads every item of the capture into memory, each shard's frames
// in a huge-page arena of its own (see package hugemem: the kernel copies
// from it fast, and each sender reads memory of its own); it fails beyond
// limit bytes in all. It returns what frees the arenas and the time of the
// capture's first packet.
// Cancelling ctx stops the reading.
func preload(ctx context.Context, open Opener, ps []*pipeline, limit int64, pt Part) (free func(), first time.Time, part *PartReport, err error) {
	if limit <= 0 {
		limit = 2 << 30
	}
	// With several shards, a first pass weighs the connections so that the
	// shards get even work (Balance); reading twice costs nothing of the
	// replay itself.
	bal := newBalance(len(ps))
	if len(ps) > 1 {
		r, err := open()
		if err != nil {
			return nil, first, nil, err
		}
		f := newPartFilter(pt)
		err = r.Each(func(pk *pcaps.Packet) error {
			if f.keep(pk, r.Count()) {
				bal.Add(pk)
			}
			return stopped(ctx, r.Count())
		})
		r.Close()
		if err != nil {
			return nil, first, nil, err
		}
		bal.Assign()
	}
	r, err := open()
	if err != nil {
		return nil, first, nil, err
	}
	defer r.Close()
	arenas := make([]*hugemem.Arena, len(ps))
	free = func() {
		for _, a := range arenas {
			a.Free()
		}
	}
	var total int64
	coalesced := isCoalesced(r)
	for i, p := range ps {
		arena := hugemem.NewArena(0)
		arenas[i] = arena
		p.src.Begin(r.Name(), coalesced, func(it *item) error {
			if total += int64(len(it.Frame)); total > limit {
				return fmt.Errorf("%s: more than %d MiB to preload; replay without it", r.Name(), limit>>20)
			}
			c := *it
			c.Frame = arena.Alloc(len(it.Frame))
			copy(c.Frame, it.Frame)
			if it.Release != nil {
				it.Release(it.Frame)
				c.Release = nil
			}
			p.items = append(p.items, c)
			return nil
		})
	}
	f := newPartFilter(pt)
	err = r.Each(func(pk *pcaps.Packet) error {
		if r.Count() == 1 {
			first = pk.Timestamp
		}
		if err := stopped(ctx, r.Count()); err != nil {
			return err
		}
		if !f.keep(pk, r.Count()) {
			return nil
		}
		return ps[bal.Shard(pk)].src.Packet(pk, r.Count())
	})
	for _, p := range ps {
		if err == nil {
			err = p.src.End()
		}
	}
	if err != nil {
		free()
		return nil, first, nil, err
	}
	if f != nil {
		part = f.report(pt)
	}
	return free, first, part, nil
}
