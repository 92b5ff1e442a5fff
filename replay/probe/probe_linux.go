package probe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"errors"
	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/afpacket"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/compare"
	"github.com/gsoreplay/gsoreplay/replay/internal/pcapout"
	"github.com/gsoreplay/gsoreplay/replay/lab"
	"github.com/gsoreplay/gsoreplay/replay/tap"
	"slices"
)

// Options control a probe.
type Options struct {
	// Iface and CaptureIface name existing interfaces; both empty builds a Lab.
	Iface, CaptureIface string
	// WriteFixtures, if set, is a directory for one pcapng per case.
	WriteFixtures string
	// Timeout bounds one send (default 5 s): a sender that hangs is
	// reported, not waited for.
	Timeout time.Duration
	// Cases default to Cases().
	Cases []Case
}

// knownKernel is the newest kernel whose behaviour the expectations were
// verified on (docs/kernel.md).
var knownKernel = [2]int{6, 18}

// tunnelSince is the first kernel whose tap takes UDP tunnel GSO.
var tunnelSince = [2]int{6, 17}

// uname reads the running kernel's release (a test pretends another).
var uname = unix.Uname

// newReport starts a report on the running kernel and returns the version
// whose expectations apply: the newest ones, with a note, for a kernel
// newer than knownKernel or one whose version cannot be read.
func newReport() (rep *Report, major, minor int, err error) {
	var uts unix.Utsname
	if err := uname(&uts); err != nil {
		return nil, 0, 0, err
	}
	rep = &Report{Kernel: unix.ByteSliceToString(uts.Release[:])}
	major, minor, ok := KernelVersion(rep.Kernel)
	if !ok || major > knownKernel[0] || (major == knownKernel[0] && minor > knownKernel[1]) {
		rep.Note = fmt.Sprintf("kernel %s is newer than %d.%d, the newest whose behaviour these expectations were verified on; using the newest expectations", rep.Kernel, knownKernel[0], knownKernel[1])
		if !ok {
			major, minor = 1<<30, 0
		}
	}
	return rep, major, minor, nil
}

// Validate reports the first option out of range: lab.ErrInterfaces or a
// *coalesce.OptionError naming the field. Zero values take defaults.
func (o Options) Validate() error {
	if o.Timeout < 0 {
		return &coalesce.OptionError{Option: "Timeout", Value: o.Timeout.String(), Want: "must not be negative"}
	}
	return (lab.TestbedOptions{Iface: o.Iface, CaptureIface: o.CaptureIface}).Validate()
}

// Run sends every case and compares what the kernel did with what it must
// do.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Cases == nil {
		var err error
		if o.Cases, err = Cases(); err != nil {
			return nil, err
		}
	}
	rep, major, minor, err := newReport()
	if err != nil {
		return nil, err
	}
	if o.WriteFixtures != "" {
		if err := os.MkdirAll(o.WriteFixtures, 0o755); err != nil {
			return nil, err
		}
	}
	tb, err := lab.NewTestbed(lab.TestbedOptions{Iface: o.Iface, CaptureIface: o.CaptureIface})
	if err != nil {
		return nil, err
	}
	defer tb.Close()
	c := tb.Captures[0]
	fd := -1
	defer func() {
		if fd >= 0 {
			unix.Close(fd)
		}
	}()
	// Sends time out rather than block forever.
	open := func() error {
		var err error
		fd, _, err = afpacket.Open(tb.Send, afpacket.Options{Vnet: true, SendTimeout: 2 * time.Second})
		return err
	}
	if err := tb.InSender(open); err != nil {
		return nil, err
	}

	taps := map[int]*tap.Tap{}
	defer func() {
		for _, t := range taps {
			t.Close()
		}
	}()
	// tapFor opens (once) the tap for a header size, redirected to the
	// interface the packet socket sends on; nil when this kernel's tap
	// takes no tunnel header.
	tapFor := func(hdr int) (*tap.Tap, error) {
		if t, ok := taps[hdr]; ok {
			return t, nil
		}
		var t *tap.Tap
		err := tb.InSender(func() (err error) {
			if t, err = tap.Open(fmt.Sprintf("gsr-probe%d", hdr), hdr == gso.VnetTunnelHeaderLen); err != nil {
				return err
			}
			if err = t.Redirect(tb.Send); err != nil {
				t.Close()
			}
			return err
		})
		switch {
		case errors.Is(err, tap.ErrNoTunnelGSO):
			taps[hdr] = nil
			return nil, nil
		case err != nil:
			return nil, err
		}
		taps[hdr] = t
		return t, nil
	}

	var seg gso.Segmenter
	for i := range o.Cases {
		if err := ctx.Err(); err != nil {
			rep.Interrupted = true
			return rep, fmt.Errorf("interrupted: %w", err)
		}
		pc := &o.Cases[i]
		exp := pc.ExpectFor(major, minor)
		res := Result{Name: pc.Name, Kind: pc.Kind, Sent: pc.Sent(), Expected: exp.Outcome.String()}
		if exp.Exact {
			res.Expected += exactSuffix
		}
		var ref [][]byte
		if segs, err := seg.Segment(pc.Frame, layers.LinkTypeEthernet, pc.Vnet); err == nil {
			for _, s := range segs {
				ref = append(ref, append([]byte(nil), s...))
			}
		}
		var tp *tap.Tap
		if pc.Kind.Tap() {
			tunnel := pc.TapHeader == gso.VnetTunnelHeaderLen
			if !tunnel || !older(major, minor, tunnelSince) {
				if tp, err = tapFor(pc.TapHeader); err != nil {
					return rep, err
				}
			}
			if tp == nil {
				res.Skipped, res.Pass = true, true
				res.Observed = fmt.Sprintf("skipped: not supported by this kernel (%v)", tap.ErrNoTunnelGSO)
				rep.Skipped++
				rep.Cases = append(rep.Cases, res)
				continue
			}
		}
		before, _ := c.Count()
		var errno string
		var hung bool
		if tp != nil {
			errno = tapWrite(tp, pc)
		} else {
			errno, hung = probeSend(ctx, fd, pc, o.Timeout)
		}
		if err := ctx.Err(); err != nil {
			rep.Interrupted = true
			return rep, fmt.Errorf("interrupted: %w", err)
		}
		if hung {
			res.Observed = fmt.Sprintf("timeout: the send did not return within %v", o.Timeout)
			rep.Cases = append(rep.Cases, res)
			// Leave that socket to its fate and go on with a new one.
			fd = -1
			if err := tb.InSender(open); err != nil {
				return rep, err
			}
			continue
		}
		got := waitFrames(ctx, c, before, exp.Outcome.Segments)
		if err := ctx.Err(); err != nil {
			rep.Interrupted = true
			return rep, fmt.Errorf("interrupted: %w", err)
		}
		obs := Outcome{Errno: errno, Segments: len(got)}
		res.Observed = obs.String()
		res.Pass = obs.Errno == exp.Outcome.Errno && (exp.Outcome.Segments < 0 || obs.Segments == exp.Outcome.Segments)
		if !res.Pass && exp.Outcome.Errno == "ENOMEM" && obs.Errno == "" && obs.Segments == 0 {
			// On a device with a qdisc the kernel segments at dequeue: the
			// same failure is a silent drop (docs/kernel.md §1.8).
			res.Pass, res.Detail = true, "dropped at dequeue: the device has a qdisc"
		}
		if res.Pass && exp.Exact && obs.Errno == "" {
			switch {
			case len(ref) != len(got):
				res.Pass, res.Detail = false, fmt.Sprintf("the reference segmenter makes %d segments", len(ref))
			default:
				for k := range ref {
					if string(ref[k]) != string(got[k]) {
						res.Pass, res.Detail = false, fmt.Sprintf("segment %d: %s", k+1, compare.Diff(ref[k], got[k]))
						break
					}
				}
			}
			if res.Pass {
				res.Observed += exactSuffix
			}
		}
		if pc.Note != "" {
			res.Detail = strings.TrimSuffix(pc.Note+"; "+res.Detail, "; ")
		}
		if !res.Pass {
			rep.Failed++
		}
		rep.Cases = append(rep.Cases, res)
		if o.WriteFixtures != "" {
			if err := writeProbeFixture(o.WriteFixtures, i+1, pc, exp, ref); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

// probeSend sends one case and returns the errno's name ("" on success),
// or hung when the send did not return in time.
// An ended ctx ends the wait as a hang would.
func probeSend(ctx context.Context, fd int, pc *Case, timeout time.Duration) (errno string, hung bool) {
	buf := make([]byte, gso.VnetHeaderLen, gso.VnetHeaderLen+len(pc.Frame))
	h := pc.Vnet
	if len(pc.Frame) > 0xffff {
		h.HdrLen = uint16(afpacket.Linear(len(pc.Frame), int(h.HdrLen))) // as replay sends it
	}
	h.Encode(buf)
	buf = append(buf, pc.Frame...)
	done := make(chan error, 1)
	go func() { done <- unix.Send(fd, buf, 0) }()
	select {
	case err := <-done:
		var e unix.Errno
		if errors.As(err, &e) {
			return unix.ErrnoName(e), false
		}
		if err != nil {
			return err.Error(), false
		}
		return "", false
	case <-time.After(timeout):
		return "", true
	case <-ctx.Done():
		return "", true
	}
}

// tapWrite writes one case to a tap and returns the errno's name ("" on
// success).
func tapWrite(t *tap.Tap, pc *Case) string {
	hdr := make([]byte, t.HeaderLen)
	if t.HeaderLen >= gso.VnetTunnelHeaderLen {
		pc.Vnet.EncodeTunnel(hdr)
	} else {
		pc.Vnet.Encode(hdr)
	}
	err := t.Write(hdr, pc.Frame)
	var e unix.Errno
	switch {
	case errors.As(err, &e):
		return unix.ErrnoName(e)
	case err != nil:
		return err.Error()
	}
	return ""
}

// waitFrames collects what the case put out: until want frames came and
// 20 ms passed quietly, or 100 ms without a frame, or ctx ended.
func waitFrames(ctx context.Context, c *capture.Capture, before, want int) [][]byte {
	start := time.Now()
	last, lastN := start, before
	for {
		n, _ := c.Count()
		if n != lastN {
			last, lastN = time.Now(), n
		}
		quiet := time.Since(last)
		if (want >= 0 && n-before >= want && quiet > 20*time.Millisecond) || quiet > 100*time.Millisecond || time.Since(start) > 3*time.Second || ctx.Err() != nil {
			return c.Frames(before)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// writeProbeFixture writes NN-name.pcapng: the super-packet with its header
// in the comment, then the reference segments.
func writeProbeFixture(dir string, n int, pc *Case, exp Expectation, ref [][]byte) error {
	slug := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, pc.Name)
	ts := time.Unix(1700000000, 0)
	m := coalesce.Meta{Vnet: pc.Vnet, Segs: max(1, len(ref))}
	if len(ref) > 1 {
		m.Deltas = make([]int64, len(ref)-1)
	}
	frames := []pcapout.Frame{{Data: pc.Frame, Time: ts, Comment: coalesce.AppendComment(nil, &m)}}
	for k, s := range ref {
		frames = append(frames, pcapout.Frame{Data: s, Time: ts, Comment: fmt.Appendf(nil, "segment %d of %d (reference segmentation)", k+1, len(ref))})
	}
	return pcapout.Write(filepath.Join(dir, fmt.Sprintf("%02d-%s.pcapng", n, slug)), pcaps.WriterOptions{Application: "gsoreplay probe",
		Comment: fmt.Sprintf("gsoreplay probe case %q (%s): expected %s", pc.Name, pc.Kind, exp.Outcome)}, []string{"probe"}, slices.Values(frames))
}
