package probe

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/afpacket"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/compare"
	"github.com/gsoreplay/gsoreplay/replay/internal/pcapout"
	"github.com/gsoreplay/gsoreplay/replay/lab"
	"slices"
)

// groAttempts bounds how often a case is sent when GRO handed up other
// packets than expected (see timingMayExplain).
const groAttempts = 3

// GROOptions control RunGRO.
type GROOptions struct {
	// WriteFixtures, if set, is a directory for one pcapng per case: the
	// frames sent, then what GRO handed up.
	WriteFixtures string
	// FlushTimeout and DeferIRQs are the lab receiver's (10 ms, 10): the
	// timeout is how long the sender has to put a case's frames in GRO's
	// way before a poll hands up what it holds.
	FlushTimeout time.Duration
	DeferIRQs    int
	// Cases default to GROCases().
	Cases []GROCase
}

// Validate reports the first option out of range (a *coalesce.OptionError
// naming the field). Zero values take defaults.
func (o GROOptions) Validate() error {
	return (lab.TestbedOptions{GRO: true, FlushTimeout: o.FlushTimeout, DeferIRQs: o.DeferIRQs}).Validate()
}

// RunGRO sends every GRO case, back to back, into a lab receiver running
// GRO, and compares the packets GRO hands up with the case's. GRO merges
// only what meets in one NAPI poll, and on a busy machine a poll can end
// while a case is still being sent; a case whose packets timing may explain
// is sent again, up to three times, and Result.Attempts says so.
func RunGRO(ctx context.Context, o GROOptions) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Cases == nil {
		o.Cases = GROCases()
	}
	if o.FlushTimeout == 0 {
		o.FlushTimeout = 10 * time.Millisecond
	}
	if o.DeferIRQs == 0 {
		o.DeferIRQs = 10
	}
	rep, major, minor, err := newReport()
	if err != nil {
		return nil, err
	}
	tb, err := lab.NewTestbed(lab.TestbedOptions{GRO: true, FlushTimeout: o.FlushTimeout, DeferIRQs: o.DeferIRQs})
	if err != nil {
		return nil, err
	}
	defer tb.Close()
	c := tb.Captures[0]
	var fd int
	if err := tb.InSender(func() error {
		var err error
		fd, _, err = afpacket.Open(tb.Send, afpacket.Options{Vnet: true, SendBuffer: 16 << 20})
		return err
	}); err != nil {
		return nil, err
	}
	defer unix.Close(fd)

	var seg gso.Segmenter
	for i := range o.Cases {
		if err := ctx.Err(); err != nil {
			rep.Interrupted = true
			return rep, fmt.Errorf("interrupted: %w", err)
		}
		gc := &o.Cases[i]
		expect, expLossless := gc.For(major, minor)
		res := Result{Name: gc.Name, Kind: KindGRO, Sent: gc.Sent(), Expected: groString(expect, expLossless), Detail: gc.Note}
		var got [][]byte
		var vnets []gso.VnetHeader
		for attempt := 1; ; attempt++ {
			var obs []int
			var lossless bool
			var err error
			got, vnets, obs, lossless, err = sendGROCase(ctx, c, fd, &seg, gc)
			if err != nil {
				return rep, err
			}
			if err := ctx.Err(); err != nil {
				rep.Interrupted = true
				return rep, fmt.Errorf("interrupted: %w", err)
			}
			res.Observed = groString(obs, lossless)
			res.Pass = sameRuns(obs, expect, gc.AnyOrder) && lossless == expLossless
			// Which frames share a NAPI poll is up to timing on a busy
			// machine: a case that timing may explain is sent again. A
			// deviation in GRO's own rules repeats every time and fails.
			if res.Pass || !timingMayExplain(obs, expect) || attempt == groAttempts {
				if attempt > 1 {
					res.Attempts = attempt
				}
				break
			}
		}
		if !res.Pass {
			rep.Failed++
		}
		rep.Cases = append(rep.Cases, res)
		if o.WriteFixtures != "" {
			if err := writeGROFixture(o.WriteFixtures, i+1, gc, res.Expected, got, vnets); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

// groRetries bounds how often a send the receiver's full ring refuses
// (ENOBUFS) is tried again, 50 µs apart: its NAPI polls late, up to the
// flush timeout.
const groRetries = 200

// sendGROCase sends the case's frames back to back and reads what GRO
// handed up: the packets, their virtio headers, how many frames each holds
// (-1: it does not segment), and whether each one's reference segmentation
// gives back frames that were sent.
func sendGROCase(ctx context.Context, c *capture.Capture, fd int, seg *gso.Segmenter, gc *GROCase) (got [][]byte, vnets []gso.VnetHeader, obs []int, lossless bool, err error) {
	before, _ := c.Count()
	var buf []byte
	for k := range gc.Frames {
		// A frame alone: a zero virtio header.
		buf = append(append(buf[:0], make([]byte, gso.VnetHeaderLen)...), gc.Frames[k].Data...)
		for retries := 0; ; retries++ {
			err := unix.Send(fd, buf, 0)
			if err == unix.ENOBUFS && retries < groRetries {
				time.Sleep(50 * time.Microsecond)
				continue
			}
			if err != nil && err != unix.EINTR {
				return nil, nil, nil, false, fmt.Errorf("GRO case %s: send of frame %d: %w", gc.Name, k+1, err)
			}
			if err == nil {
				break
			}
		}
	}
	got = waitFrames(ctx, c, before, -1)
	vnets = c.Vnets()[before:]
	lossless = true
	sent := map[string]bool{}
	for _, f := range gc.Frames {
		sent[string(f.Data)] = true
	}
	for k, f := range got {
		segs, merged, err := compare.GROFrames(seg, f, vnets[k])
		switch {
		case !merged:
			obs = append(obs, 1)
			continue
		case err != nil:
			obs = append(obs, -1)
			lossless = false
			continue
		}
		obs = append(obs, len(segs))
		for _, sg := range segs {
			if !sent[string(sg)] {
				lossless = false
			}
		}
	}
	return got, vnets, obs, lossless, nil
}

// writeGROFixture writes NN-gro-name.pcapng: the frames sent, then what
// GRO handed up with its virtio header in the comment.
func writeGROFixture(dir string, n int, gc *GROCase, expected string, got [][]byte, vnets []gso.VnetHeader) error {
	slug := strings.NewReplacer("/", "-", "_", "-").Replace(gc.Name)
	var frames []pcapout.Frame
	for k, p := range gc.Frames {
		frames = append(frames, pcapout.Frame{Data: p.Data, Time: p.Timestamp, Comment: fmt.Appendf(nil, "sent %d of %d", k+1, len(gc.Frames))})
	}
	for k, g := range got {
		frames = append(frames, pcapout.Frame{Data: g, Time: time.Unix(1700000001, 0), Interface: 1,
			Comment: fmt.Appendf(nil, "handed up by GRO: %s gso_size %d", vnets[k].GSOType, vnets[k].GSOSize)})
	}
	return pcapout.Write(filepath.Join(dir, fmt.Sprintf("%02d-gro-%s.pcapng", n, slug)), pcaps.WriterOptions{Application: "gsoreplay probe --gro",
		Comment: fmt.Sprintf("gsoreplay probe GRO case %q: expected %s", gc.Name, expected)}, []string{"sent", "gro"}, slices.Values(frames))
}
