package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/replay/capture"
)

// ErrInterfaces: an existing interface to send on and one to capture on
// are named together, or neither for a lab.
var ErrInterfaces = errors.New("an existing interface to send on and one to capture on go together")

// TestbedOptions say where a Testbed sends and captures.
type TestbedOptions struct {
	// Iface and CaptureIface name existing interfaces (two NIC ports
	// cabled together, say) in the current namespace; both empty builds a
	// Lab.
	Iface, CaptureIface string
	// Two adds a second pair: a lab builds its own; on existing interfaces
	// Iface2 and CaptureIface2 name it.
	Two                   bool
	Iface2, CaptureIface2 string
	// GRO captures what the receiver's GRO hands up, with each packet's
	// virtio header: in a lab, B's, with GRO on, FlushTimeout and
	// DeferIRQs (ReceiverGRO); on existing interfaces, what CaptureIface
	// hands up (its GRO or LRO). Without, a lab captures at A's transmit
	// tap: the segments after software GSO, immune to B's backlog limit.
	GRO          bool
	FlushTimeout time.Duration
	DeferIRQs    int
	// Forward, if set, makes the testbed a router in the middle: in a lab,
	// B forwards to a third namespace (AddRouter) with GRO at its ingress
	// (FlushTimeout, DeferIRQs); Captures[0] is what the final receiver
	// gets, with virtio headers (whole super-packets with EgressTSO), and
	// Captures[1] what B's GRO hands up. On existing interfaces a router
	// of the user's sits between Iface and CaptureIface, and only its
	// output is captured.
	Forward *RouterOptions
	// Capture sizes the rings (Outgoing and Vnet are the testbed's).
	Capture capture.Options
}

// Testbed is where verify and probe send and capture: a Lab of its own or
// existing interfaces, the capture rings, and the counters that say what
// the kernel dropped. Close tears it all down, on every path.
type Testbed struct {
	// Lab is nil on existing interfaces.
	Lab *Lab
	// Send and Send2 are the interfaces to send on (Send2 with Two), in
	// the namespace InSender enters.
	Send, Send2 string
	// Where says, for a report, where the output is captured.
	Where string
	// Captures are the rings: one per pair.
	Captures []*capture.Capture

	o       TestbedOptions
	capIf   string          // the interface whose receive counters count
	hs, hc  *netlink.Handle // the namespaces of Send and of capIf
	ownH    bool            // hs is the testbed's to close
	stopped bool
}

// Validate reports ErrInterfaces when existing interfaces do not come in
// pairs.
func (o TestbedOptions) Validate() error {
	if (o.Iface == "") != (o.CaptureIface == "") {
		return ErrInterfaces
	}
	if o.Two && o.Iface != "" && (o.Iface2 == "" || o.CaptureIface2 == "") {
		return errors.New("a split needs a second interface to send on and one to capture on")
	}
	if o.Iface == "" && (o.Iface2 != "" || o.CaptureIface2 != "") {
		return ErrSecondPair
	}
	if o.Forward != nil && (o.GRO || o.Two) {
		return errors.New("a forwarding testbed captures neither GRO alone nor a second pair")
	}
	if o.Forward != nil && (o.Forward.MTU < 0 || o.Forward.MTU > ReceiverMTU) {
		return &coalesce.OptionError{Option: "Forward.MTU", Value: fmt.Sprint(o.Forward.MTU), Want: fmt.Sprintf("want 0..%d", ReceiverMTU)}
	}
	if o.Forward != nil && o.Forward.BigTCP != 0 && (o.Forward.BigTCP < MinBigTCP || o.Forward.BigTCP > MaxBigTCP) {
		return &coalesce.OptionError{Option: "Forward.BigTCP", Value: fmt.Sprint(o.Forward.BigTCP), Want: fmt.Sprintf("want 0 (off) or %d..%d", MinBigTCP, MaxBigTCP)}
	}
	if o.FlushTimeout < 0 || o.FlushTimeout > MaxFlushTimeout {
		return &coalesce.OptionError{Option: "FlushTimeout", Value: o.FlushTimeout.String(), Want: "want 1ns..1s"}
	}
	if o.DeferIRQs < 0 || o.DeferIRQs > MaxDeferIRQs {
		return &coalesce.OptionError{Option: "DeferIRQs", Value: fmt.Sprint(o.DeferIRQs), Want: fmt.Sprintf("want 1..%d", MaxDeferIRQs)}
	}
	return o.Capture.Validate()
}

// Limits of TestbedOptions (the kernel's: napi_defer_hard_irqs is an int,
// gro_flush_timeout nanoseconds; beyond these the receiver would hold
// frames for longer than any replay waits).
const (
	MaxFlushTimeout = time.Second
	MaxDeferIRQs    = 1000
)

// ErrSecondPair: a second pair of existing interfaces needs the first; a
// lab builds its second pair itself.
var ErrSecondPair = errors.New("a second pair of existing interfaces needs the first; a lab builds its second pair itself")

// NewTestbed builds the testbed and starts its captures.
func NewTestbed(o TestbedOptions) (t *Testbed, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	fwd := o.Forward != nil
	o.Capture.Vnet, o.Capture.Outgoing = o.GRO || fwd, o.Iface == "" && !o.GRO && !fwd
	t = &Testbed{o: o, Send: o.Iface, capIf: o.CaptureIface}
	defer func() {
		if err != nil {
			t.Close()
			t = nil
		}
	}()
	if o.Iface != "" {
		return t, t.existing()
	}
	if t.Lab, err = New(); err != nil {
		return t, err
	}
	l := t.Lab
	t.Send, t.capIf, t.hs, t.hc = l.IfA, l.IfB, l.hA, l.hB
	if fwd {
		if err := l.ReceiverGRO(o.FlushTimeout, o.DeferIRQs); err != nil {
			return t, err
		}
		r, err := l.AddRouter(*o.Forward)
		if err != nil {
			return t, err
		}
		t.capIf, t.hc = r.IfC, r.hC
		nat := ""
		if o.Forward.SNAT {
			nat = fmt.Sprintf("; source NAT to %v and %v", SNAT4, SNAT6)
		}
		t.Where = fmt.Sprintf("%s behind a router (lab: GRO at %s with gro_flush_timeout %v, napi_defer_hard_irqs %d; egress %s by %s%s)",
			r.IfC, l.IfB, o.FlushTimeout, o.DeferIRQs, r.IfR, o.Forward.Egress, nat)
		// capture puts each new ring first: the receiver's ends first.
		if err := t.capture(l.B, l.IfB); err != nil {
			return t, err
		}
		return t, t.capture(r.C, r.IfC)
	}
	if o.GRO {
		if err := l.ReceiverGRO(o.FlushTimeout, o.DeferIRQs); err != nil {
			return t, err
		}
		t.Where = fmt.Sprintf("GRO of %s (lab; gro_flush_timeout %v, napi_defer_hard_irqs %d)", l.IfB, o.FlushTimeout, o.DeferIRQs)
		return t, t.capture(l.B, l.IfB)
	}
	t.Where = "transmit tap of " + l.IfA + " (lab)"
	if o.Two {
		if err := l.AddPair(); err != nil {
			return t, err
		}
		t.Send2 = l.IfA2
		t.Where = "transmit taps of " + l.IfA + " and " + l.IfA2 + " (lab)"
		if err := t.capture(l.A, l.IfA2); err != nil {
			return t, err
		}
	}
	return t, t.capture(l.A, l.IfA)
}

// existing sets the testbed up on interfaces of the current namespace.
func (t *Testbed) existing() error {
	var err error
	if t.hs, err = netlink.NewHandle(); err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	t.hc, t.ownH = t.hs, true
	o := t.o
	if o.Forward != nil {
		t.Where = "what " + o.CaptureIface + " receives from a router"
		return t.capture(-1, o.CaptureIface)
	}
	if o.GRO {
		t.Where = "what " + o.CaptureIface + " hands up (its GRO or LRO)"
		return t.capture(-1, o.CaptureIface)
	}
	t.Where = "receive side of " + o.CaptureIface
	if err := t.capture(-1, o.CaptureIface); err != nil {
		return err
	}
	if o.Two {
		t.Send2 = o.Iface2
		t.Where += " and " + o.CaptureIface2
		// The second ring after the first: Captures[i] is pair i's.
		c, err := capture.New(o.CaptureIface2, t.o.Capture)
		if err != nil {
			return err
		}
		t.Captures = append(t.Captures, c)
	}
	return nil
}

// capture opens a ring on iface in namespace ns (-1: the current one),
// first in Captures unless a ring is there already.
func (t *Testbed) capture(ns netns.NsHandle, iface string) error {
	var c *capture.Capture
	open := func() error {
		var err error
		c, err = capture.New(iface, t.o.Capture)
		return err
	}
	var err error
	if ns < 0 {
		err = open()
	} else {
		err = inNamespace(ns, open)
	}
	if err != nil {
		return err
	}
	// The first pair's ring goes first, whichever opened first.
	t.Captures = append([]*capture.Capture{c}, t.Captures...)
	return nil
}

// InSender runs fn in the namespace of the interfaces to send on: sockets
// opened there stay in it wherever they are used later.
func (t *Testbed) InSender(fn func() error) error {
	if t.Lab == nil {
		return fn()
	}
	return t.Lab.Do(t.Lab.A, fn)
}

// Counters are what the kernel counted at a moment: the sending
// interface's, the capturing interface's and the host's backlog drops.
type Counters struct {
	Tx, Rx  netlink.LinkStatistics
	Softnet uint64
	// RouterIn and RouterOut are a lab router's ingress and egress;
	// RouterIP its IP layer's drop counters (IPDrops).
	RouterIn, RouterOut netlink.LinkStatistics
	RouterIP            map[string]uint64
}

// Counters reads them. An error means no verdict can be trusted: never
// compare counters that were not read.
func (t *Testbed) Counters() (Counters, error) {
	var c Counters
	var err error
	if c.Tx, err = LinkCounters(t.hs, t.Send); err != nil {
		return c, err
	}
	if c.Rx, err = LinkCounters(t.hc, t.capIf); err != nil {
		return c, err
	}
	if l := t.Lab; l != nil && l.Router != nil {
		if c.RouterIn, err = LinkCounters(l.hB, l.IfB); err != nil {
			return c, err
		}
		if c.RouterOut, err = LinkCounters(l.hB, l.Router.IfR); err != nil {
			return c, err
		}
		if err = l.Do(l.B, func() (err error) { c.RouterIP, err = IPDrops(); return err }); err != nil {
			return c, err
		}
	}
	c.Softnet, err = SoftnetDrops()
	return c, err
}

// Drops names what the kernel dropped between two readings, in the places
// that can lose what the testbed captures: the capture sockets always;
// the sender's queue unless GRO is captured; the receiver and the host's
// backlog when the capture is behind the receiver. Places that lost
// nothing are left out; Lost adds them up.
func (t *Testbed) Drops(before, after Counters, captureSockets uint64) map[string]uint64 {
	d := map[string]uint64{"capture socket": captureSockets}
	if l := t.Lab; l != nil && l.Router != nil {
		// A's sends are retried while the router's NAPI ring is full.
		d[l.IfB+" rx_dropped (router in)"] = after.RouterIn.RxDropped - before.RouterIn.RxDropped
		d[t.routerOut()] = after.RouterOut.TxDropped - before.RouterOut.TxDropped
		for k, v := range after.RouterIP {
			d["router "+k] = v - before.RouterIP[k]
		}
	} else if !t.o.GRO {
		d[t.Send+" tx_dropped"] = after.Tx.TxDropped - before.Tx.TxDropped
	}
	if !t.o.Capture.Outgoing {
		d[t.capIf+" rx_dropped"] = after.Rx.RxDropped - before.Rx.RxDropped
		if !t.o.GRO {
			d[DropSoftnet] = after.Softnet - before.Softnet
		}
	}
	for k, v := range d {
		if v == 0 {
			delete(d, k)
		}
	}
	return d
}

// DropSoftnet is the name Drops gives the host's backlog drops.
const DropSoftnet = "softnet backlog"

func (t *Testbed) routerOut() string { return t.Lab.Router.IfR + " tx_dropped (router out)" }

// Lost is how many frames the places of Drops lost between them. A frame
// a veth's peer could not take is counted by the host's backlog, by the
// peer's rx_dropped and, behind a router, by the router's tx_dropped: that
// stage counts as its largest, every other place as itself.
func (t *Testbed) Lost(drops map[string]uint64) uint64 {
	stage := []string{t.capIf + " rx_dropped", DropSoftnet}
	if t.Lab != nil && t.Lab.Router != nil {
		stage = append(stage, t.routerOut())
	}
	var sum, last uint64
	for k, v := range drops {
		if slices.Contains(stage, k) {
			last = max(last, v)
		} else {
			sum += v
		}
	}
	return sum + last
}

// Wait waits for the captures to take what was sent: want frames (any
// number when want < 0) and 20 ms of quiet, or idle of quiet, or 30 s, or
// until ctx ends.
func (t *Testbed) Wait(ctx context.Context, want int, idle time.Duration) {
	sentAt := time.Now()
	for {
		n, last := 0, time.Time{}
		for _, c := range t.Captures {
			k, l := c.Count()
			n += k
			if l.After(last) {
				last = l
			}
		}
		quiet := time.Since(last)
		if last.Before(sentAt) {
			quiet = time.Since(sentAt)
		}
		if (want >= 0 && n >= want && quiet > 20*time.Millisecond) || quiet > idle || time.Since(sentAt) > 30*time.Second || ctx.Err() != nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Output is what one capture ring took: the frames in the order the
// interface handled them, the kernel's timestamp and (with GRO) virtio
// header of each, and what the socket dropped.
type Output struct {
	Frames [][]byte
	Times  []time.Time
	Vnets  []gso.VnetHeader
	Drops  uint64
}

// Stop ends the captures and returns each ring's output.
func (t *Testbed) Stop() ([]Output, error) {
	if t.stopped {
		return nil, errors.New("testbed: captures stopped already")
	}
	t.stopped = true
	out := make([]Output, len(t.Captures))
	var first error
	for i, c := range t.Captures {
		frames, err := c.Stop()
		if err != nil && first == nil {
			first = fmt.Errorf("capture: %w", err)
		}
		_, drops := c.Stats()
		out[i] = Output{Frames: frames, Times: c.Times(), Vnets: c.Vnets(), Drops: drops}
	}
	return out, first
}

// Stream hands every frame the rings capture to each, with the pair it
// came from (0, or 1 for Send2's), instead of keeping them (see
// capture.Capture.Stream): each ring calls it on a goroutine of its own.
// Output.Frames, Times and Vnets are then empty.
func (t *Testbed) Stream(each func(pair int, frame []byte, at time.Time, h gso.VnetHeader)) {
	for i, c := range t.Captures {
		c.Stream(func(f []byte, at time.Time, h gso.VnetHeader) { each(i, f, at, h) })
	}
}

// Ring is the shape of each capture ring: its blocks' size and number.
// What is in flight between a send and its capture must fit in it, and a
// reader sees a block's frames once the block is full (or 20 ms old).
func (t *Testbed) Ring() (blockSize int64, blocks int) {
	bs, n := t.o.Capture.BlockSize, t.o.Capture.Blocks
	if bs == 0 {
		bs = 4 << 20
	}
	if n == 0 {
		n = 16
	}
	return int64(bs), n
}

// Finish waits for the output (Wait), stops the captures (Stop) and reads
// the counters after (Counters).
func (t *Testbed) Finish(ctx context.Context, want int, idle time.Duration) ([]Output, Counters, error) {
	t.Wait(ctx, want, idle)
	out, err := t.Stop()
	if err != nil {
		return nil, Counters{}, err
	}
	after, err := t.Counters()
	return out, after, err
}

// Close stops what still runs and destroys the lab.
func (t *Testbed) Close() error {
	if t == nil {
		return nil
	}
	if !t.stopped {
		t.stopped = true
		for _, c := range t.Captures {
			c.Stop()
		}
	}
	if t.ownH && t.hs != nil {
		t.hs.Close()
	}
	t.hs, t.hc = nil, nil
	return t.Lab.Close()
}
