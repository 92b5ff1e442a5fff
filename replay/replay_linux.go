package replay

import (
	"context"
	"fmt"
	"runtime"
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

// NewSenders opens n senders on iface (see NewSender), one per pipeline.
func NewSenders(iface string, batch, n int) ([]*Sender, error) {
	var out []*Sender
	for range max(n, 1) {
		s, err := NewSender(iface, batch)
		if err != nil {
			CloseSenders(out)
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// CloseSenders closes every sender, returning the first error.
func CloseSenders(ss []*Sender) error {
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
// busy, reading, coalescing and sending in stages of their own (measured:
// one such pipeline on two CPUs streams faster than two, and keeps the
// capture's global order).
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

// Replay sends the capture through iface in the current network namespace
// and reports what the kernel accepted and what the interface counted.
func Replay(ctx context.Context, name string, open Opener, iface string, o Options) (*Report, error) {
	if err := o.Pacing.Validate(); err != nil {
		return nil, err
	}
	if o.Batch == 0 {
		o.Batch = 32
	}
	senders, err := NewSenders(iface, o.Batch, o.ThreadCount())
	if err != nil {
		return nil, err
	}
	defer CloseSenders(senders)
	ifaces := []string{iface}
	if o.Iface2 != "" {
		if o.Source.Split == nil {
			return nil, fmt.Errorf("a second interface (%s) needs a split: a tcpprep cache file or a built-in split", o.Iface2)
		}
		ifaces = append(ifaces, o.Iface2)
		for _, s := range senders {
			if err := s.AddInterface(o.Iface2); err != nil {
				return nil, err
			}
		}
	}
	h, err := netlink.NewHandle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	before := make([]netlink.LinkStatistics, len(ifaces))
	for i, name := range ifaces {
		if before[i], err = lab.LinkCounters(h, name); err != nil {
			return nil, err
		}
	}
	if link, err := h.LinkByName(iface); err == nil && o.Source.MTU == 0 {
		o.Source.MTU = link.Attrs().MTU
	}
	backlog := lab.SoftnetDrops()
	rep, err := Run(ctx, open, senders, NewSources(o.Source, len(senders)), o, nil)
	rep.File, rep.Interface = name, iface
	rep.HostBacklogDrops = lab.SoftnetDrops() - backlog
	if err != nil {
		return &rep, err
	}
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
			side.IfaceCheck = "ok"
		case side.IfaceTxDropped == 0 && (len(ifaces) > 1 || side.IfaceTxPackets >= uint64(rep.Sends)):
			// A device that takes GSO frames whole counts super-packets
			// (with two interfaces their split is not known: any count
			// without drops).
			side.IfaceCheck = "whole"
		default:
			side.IfaceCheck = "short"
		}
		rep.IfaceTxPackets += side.IfaceTxPackets
		rep.IfaceTxBytes += side.IfaceTxBytes
		rep.IfaceTxDropped += side.IfaceTxDropped
		switch {
		case rep.IfaceCheck == "" || side.IfaceCheck == "short":
			rep.IfaceCheck = side.IfaceCheck
		case side.IfaceCheck == "whole" && rep.IfaceCheck == "ok":
			rep.IfaceCheck = "whole"
		}
		if rep.Sides != nil {
			rep.Sides[i] = side
		}
	}
	return &rep, nil
}
