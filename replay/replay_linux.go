package replay

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/replay/lab"
)

// sleepUntil waits for t: the scheduler's sleep for most of it, a spin for
// the last 100 µs, which timers cannot hit.
func sleepUntil(ctx context.Context, t time.Time) {
	if d := time.Until(t) - 100*time.Microsecond; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
	for time.Now().Before(t) {
	}
}

// sleepPrecise waits until t as sleepUntil does, but closer: with the
// kernel's high-resolution timer (clock_nanosleep on CLOCK_REALTIME,
// TIMER_ABSTIME) rather than the runtime's, whose wake-ups come up to a
// millisecond late, until spinEarly before t, then spinning, as the
// kernel's timer too wakes a few hundred microseconds late on virtual
// machines. For a start time that processes on several hosts share. It
// blocks its thread, in steps of 50 ms so that ctx is heard.
func sleepPrecise(ctx context.Context, t time.Time) {
	const spinEarly = 500 * time.Microsecond
	for ctx.Err() == nil {
		left := time.Until(t) - spinEarly
		if left <= 0 {
			break
		}
		at := t.Add(-spinEarly)
		if left > 50*time.Millisecond {
			at = time.Now().Add(50 * time.Millisecond)
		}
		ts := unix.NsecToTimespec(at.UnixNano())
		_ = unix.ClockNanosleep(unix.CLOCK_REALTIME, unix.TIMER_ABSTIME, &ts, nil) // EINTR: the loop goes on
	}
	for ctx.Err() == nil && time.Now().Before(t) {
		// Others may wait for this CPU at the same instant (the shards of
		// one host): a spin that yields lets them in.
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}

// newSenders opens n senders on iface (see newSender), one per pipeline,
// or taps redirected to it (newTapSender) with Via tap.
func newSenders(iface string, o Options, n int) ([]*sender, error) {
	var out []*sender
	for i := range max(n, 1) {
		var s *sender
		var err error
		if o.Via == ViaTap {
			name := fmt.Sprintf("gsrt%d.%d", os.Getpid()%1000000, i)
			s, err = newTapSender(name, iface, o.Source.Coalesce.TunnelGSO, o.Batch)
		} else {
			s, err = newSender(iface, o.Batch)
		}
		if err != nil {
			closeSenders(out)
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// closeSenders closes every sender, returning the first error.
func closeSenders(ss []*sender) error {
	var first error
	for _, s := range ss {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ThreadCount is the number of pipelines o asks for: Threads, else one per
// CPU of CPUs, else one per CPU the process may run on with Preload, and
// one per two such CPUs when streaming — a streaming pipeline keeps two
// busy, reading, coalescing and sending in stages of their own (one such
// pipeline on two CPUs streams faster than two, bench/NOTES.md, and keeps
// the capture's global order).
func (o Options) ThreadCount() int {
	switch {
	case o.Threads > 0:
		return o.Threads
	case len(o.CPUs) > 0:
		return len(o.CPUs)
	}
	n := runtime.NumCPU()
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && set.Count() > 0 {
		n = set.Count()
	}
	if !o.Preload {
		n = max(1, n/2)
	}
	return n
}

// Replay sends the capture through iface (in the namespace Options.In
// enters, else the calling thread's) and reports what the kernel accepted
// and what the interface counted.
func Replay(ctx context.Context, name string, open Opener, iface string, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Batch == 0 {
		o.Batch = 32
	}
	ifaces := []string{iface}
	if o.Iface2 != "" {
		if o.Source.Split == nil {
			return nil, fmt.Errorf("a second interface (%s) needs a split: a tcpprep cache file or a built-in split", o.Iface2)
		}
		ifaces = append(ifaces, o.Iface2)
	}
	in := o.In
	if in == nil {
		in = func(fn func() error) error { return fn() }
	}
	var (
		senders []*sender
		h       *netlink.Handle
		before  = make([]netlink.LinkStatistics, len(ifaces))
	)
	defer func() {
		closeSenders(senders)
		if h != nil {
			h.Close()
		}
	}()
	// Sockets and the netlink handle are opened in the interfaces'
	// namespace and stay there wherever they are used.
	err := in(func() error {
		var err error
		if senders, err = newSenders(iface, o, o.ThreadCount()); err != nil {
			return err
		}
		for _, s := range senders {
			s.Retries = o.Retries
			if o.Iface2 != "" {
				if err := s.AddInterface(o.Iface2); err != nil {
					return err
				}
			}
		}
		h, err = netlink.NewHandle()
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, name := range ifaces {
		if before[i], err = lab.LinkCounters(h, name); err != nil {
			return nil, err
		}
	}
	if o.Source.MTU == 0 {
		link, err := lab.Link(h, iface)
		if err != nil {
			return nil, err
		}
		o.Source.MTU = link.Attrs().MTU
	}
	srcs, err := newSources(o.Source, len(senders), o.Observer)
	if err != nil {
		return nil, err
	}
	backlog, err := lab.SoftnetDrops()
	if err != nil {
		return nil, err
	}
	smp := newSampler(len(ifaces), func(frames, bytes []uint64) error {
		for i, name := range ifaces {
			c, err := lab.LinkCounters(h, name)
			if err != nil {
				return err
			}
			frames[i], bytes[i] = c.TxPackets-before[i].TxPackets, c.TxBytes-before[i].TxBytes
		}
		return nil
	})
	rep, err := run(ctx, open, senders, srcs, smp, o)
	if serr := smp.end(); err == nil && serr != nil {
		err = fmt.Errorf("sampling the counters of %s: %w", strings.Join(ifaces, ", "), serr)
	}
	if rep.Series != nil {
		rep.Series.Wire = smp.samples.wire(ifaces)
	}
	rep.File, rep.Interface, rep.Interrupted = name, iface, ctx.Err() != nil
	for _, src := range srcs {
		rep.CoalescedPackets += src.Stats.InSupers
		rep.InputPackets += src.Stats.Packets
		if src.Stats.Coalesced {
			rep.InputPackets += src.Stats.Frames - src.Stats.Packets
		}
	}
	if err != nil {
		return &rep, err
	}
	backlogAfter, err := lab.SoftnetDrops()
	if err != nil {
		return &rep, err
	}
	rep.HostBacklogDrops = backlogAfter - backlog
	// Each interface's counters against what left by it; the report's own
	// check is the worst of them.
	for i, name := range ifaces {
		after, err := lab.LinkCounters(h, name)
		if err != nil {
			return &rep, err
		}
		side := SideReport{Interface: name, Packets: rep.Packets, Bytes: rep.Bytes}
		if rep.Sides != nil {
			side.Packets, side.Bytes = rep.Sides[i].Packets, rep.Sides[i].Bytes
		}
		side.IfaceTxPackets = after.TxPackets - before[i].TxPackets
		side.IfaceTxBytes = after.TxBytes - before[i].TxBytes
		side.IfaceTxDropped = after.TxDropped - before[i].TxDropped
		switch {
		case side.IfaceTxPackets >= uint64(side.Packets) && side.IfaceTxDropped == 0:
			side.IfaceCheck = IfaceOK
		case side.IfaceTxDropped == 0 && (len(ifaces) > 1 || side.IfaceTxPackets >= uint64(rep.Sends)):
			// A device that takes GSO frames whole counts super-packets
			// (with two interfaces their split is not known: any count
			// without drops).
			side.IfaceCheck = IfaceWhole
		default:
			side.IfaceCheck = IfaceShort
		}
		rep.IfaceTxPackets += side.IfaceTxPackets
		rep.IfaceTxBytes += side.IfaceTxBytes
		rep.IfaceTxDropped += side.IfaceTxDropped
		rep.IfaceCheck = max(rep.IfaceCheck, side.IfaceCheck)
		if rep.Sides != nil {
			rep.Sides[i] = side
		}
	}
	return &rep, nil
}
