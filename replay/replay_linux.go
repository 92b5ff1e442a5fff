package replay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/lab"
)

var errStop = errors.New("stop")

// Run sends every item of the capture through s, paced as o says, and
// reports what s did (not the interface's counters: Replay adds those).
// each, if not nil, sees every item before it is queued.
func Run(ctx context.Context, open Opener, s *Sender, src *Source, o Options, each func(*Item) error) (Report, error) {
	var rep Report
	var items []Item
	if o.Preload {
		var err error
		if items, err = preload(open, src, o.PreloadMax); err != nil {
			return rep, err
		}
	}
	start := time.Now()
	sched := NewSchedule(o.Pacing, start)
	var deadline time.Time
	if o.Duration > 0 {
		deadline = start.Add(o.Duration)
	}
	var lastDue time.Time
	nextProgress := start
	paced := !o.Pacing.Topspeed && o.Pacing.PPS == 0 && o.Pacing.Mbps == 0
	send := func(it *Item, stable bool) error {
		if err := ctx.Err(); err != nil {
			return errStop
		}
		if o.Limit > 0 && s.Pending() >= o.Limit {
			return errStop
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return errStop
		}
		due := sched.Due(it.Timestamp, it.Segs, it.Wire)
		if !due.IsZero() {
			if time.Until(due) > 0 {
				if err := s.Flush(); err != nil {
					return err
				}
				sleepUntil(ctx, due)
			}
			lastDue = due
		}
		if each != nil {
			if err := each(it); err != nil {
				return err
			}
		}
		if o.Progress != nil && time.Now().After(nextProgress) {
			o.Progress(s.Stats.Frames)
			nextProgress = time.Now().Add(100 * time.Millisecond)
		}
		return s.Queue(it, stable)
	}
	streamed := func(it *Item) error { return send(it, false) }
	for {
		var err error
		if o.Preload {
			for i := range items {
				if err = send(&items[i], true); err != nil {
					break
				}
			}
		} else {
			var r *pcaps.Reader
			if r, err = open(); err != nil {
				return rep, err
			}
			err = src.Feed(r, streamed)
			r.Close()
		}
		if err != nil && !errors.Is(err, errStop) {
			return rep, err
		}
		rep.Loops++
		if errors.Is(err, errStop) || (o.Loops > 0 && rep.Loops >= o.Loops) {
			break
		}
		sched.NextLoop()
	}
	if err := s.Flush(); err != nil {
		return rep, err
	}
	end := time.Now()
	if paced && !lastDue.IsZero() {
		rep.EndDriftMS = float64(end.Sub(lastDue).Microseconds()) / 1000
	}
	st := s.Stats
	rep.Packets, rep.Bytes, rep.Sends, rep.Syscalls, rep.Failed, rep.Errors = st.Frames, st.Bytes, st.Items, st.Syscalls, st.Failed, st.Errors
	rep.Retried, rep.Skipped = st.Retried, src.Stats.Skipped
	rep.SuperPackets, rep.Resegmented = src.Stats.Supers, src.Stats.Built
	if o.Preload && rep.Loops > 1 {
		// The source counted one pass; every loop sent them all again.
		rep.SuperPackets *= int64(rep.Loops)
		rep.Resegmented *= int64(rep.Loops)
	}
	rep.Seconds = end.Sub(start).Seconds()
	if rep.Seconds > 0 {
		rep.PPS = float64(rep.Packets) / rep.Seconds
		rep.Mbps = float64(rep.Bytes) * 8 / rep.Seconds / 1e6
	}
	return rep, nil
}

// preload reads every item of the capture into memory, frames packed into
// chunks of 4 MiB, and fails beyond limit bytes.
func preload(open Opener, src *Source, limit int64) ([]Item, error) {
	if limit <= 0 {
		limit = 2 << 30
	}
	r, err := open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	const chunk = 4 << 20
	var items []Item
	var buf []byte
	var total int64
	err = src.Feed(r, func(it *Item) error {
		if total += int64(len(it.Frame)); total > limit {
			return fmt.Errorf("%s: more than %d MiB to preload; replay without it", r.Name(), limit>>20)
		}
		if cap(buf)-len(buf) < len(it.Frame) {
			buf = make([]byte, 0, max(chunk, len(it.Frame)))
		}
		n := len(buf)
		buf = append(buf, it.Frame...)
		c := *it
		c.Frame = buf[n:len(buf):len(buf)]
		items = append(items, c)
		return nil
	})
	return items, err
}

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

// Replay sends the capture through iface in the current network namespace
// and reports what the kernel accepted and what the interface counted.
func Replay(ctx context.Context, name string, open Opener, iface string, o Options) (*Report, error) {
	if err := o.Pacing.Validate(); err != nil {
		return nil, err
	}
	if o.Batch == 0 {
		o.Batch = 32
	}
	s, err := NewSender(iface, o.Batch)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	h, err := netlink.NewHandle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	before, err := lab.LinkCounters(h, iface)
	if err != nil {
		return nil, err
	}
	if link, err := h.LinkByName(iface); err == nil && o.Source.MTU == 0 {
		o.Source.MTU = link.Attrs().MTU
	}
	rep, err := Run(ctx, open, s, NewSource(o.Source), o, nil)
	rep.File, rep.Interface = name, iface
	if err != nil {
		return &rep, err
	}
	after, err := lab.LinkCounters(h, iface)
	if err != nil {
		return &rep, err
	}
	rep.IfaceTxPackets = after.TxPackets - before.TxPackets
	rep.IfaceTxBytes = after.TxBytes - before.TxBytes
	rep.IfaceTxDropped = after.TxDropped - before.TxDropped
	switch {
	case rep.IfaceTxPackets >= uint64(rep.Packets) && rep.IfaceTxDropped == 0:
		rep.IfaceCheck = "ok"
	case rep.IfaceTxPackets >= uint64(rep.Sends) && rep.IfaceTxDropped == 0:
		rep.IfaceCheck = "whole"
	default:
		rep.IfaceCheck = "short"
	}
	return &rep, nil
}
