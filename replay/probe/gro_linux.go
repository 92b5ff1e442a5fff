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

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/lab"
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

// RunGRO sends every GRO case, back to back, into a lab receiver running
// GRO, and compares the packets GRO hands up with the case's. GRO merges
// only what meets in one NAPI poll, and on a busy machine a poll can end
// while a case is still being sent; a case whose packets timing may explain
// is sent again, up to three times, and Result.Attempts says so.
func RunGRO(ctx context.Context, o GROOptions) (*Report, error) {
	if o.Cases == nil {
		o.Cases = GROCases()
	}
	if o.FlushTimeout == 0 {
		o.FlushTimeout = 10 * time.Millisecond
	}
	if o.DeferIRQs == 0 {
		o.DeferIRQs = 10
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return nil, err
	}
	rep := &Report{Kernel: unix.ByteSliceToString(uts.Release[:])}
	major, minor, ok := KernelVersion(rep.Kernel)
	if !ok {
		major, minor = knownKernel[0], knownKernel[1]
	}
	l, err := lab.New()
	if err != nil {
		return nil, err
	}
	defer l.Close()
	if err := l.ReceiverGRO(o.FlushTimeout, o.DeferIRQs); err != nil {
		return nil, err
	}
	var c *capture.Capture
	if err := l.Do(l.B, func() error {
		var err error
		c, err = capture.New(l.IfB, capture.Options{Vnet: true})
		return err
	}); err != nil {
		return nil, err
	}
	defer c.Stop()
	var s *replay.Sender
	if err := l.Do(l.A, func() error {
		var err error
		s, err = replay.NewSender(l.IfA, 128)
		return err
	}); err != nil {
		return nil, err
	}
	defer s.Close()
	s.Retries = 200

	var seg gso.Segmenter
	for i := range o.Cases {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("interrupted: %w", err)
		}
		gc := &o.Cases[i]
		expect, expLossless := gc.For(major, minor)
		res := Result{Name: gc.Name, Kind: KindGRO, Sent: gc.Sent(), Expected: groString(expect, expLossless), Detail: gc.Note}
		var got [][]byte
		var vnets [][gso.VnetHeaderLen]byte
		for attempt := 1; ; attempt++ {
			var obs []int
			var lossless bool
			var err error
			got, vnets, obs, lossless, err = sendGROCase(c, s, &seg, gc)
			if err != nil {
				return rep, err
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

// sendGROCase sends the case's frames back to back and reads what GRO
// handed up: the packets, their virtio headers, how many frames each holds
// (-1: it does not segment), and whether each one's reference segmentation
// gives back frames that were sent.
func sendGROCase(c *capture.Capture, s *replay.Sender, seg *gso.Segmenter, gc *GROCase) (got [][]byte, vnets [][gso.VnetHeaderLen]byte, obs []int, lossless bool, err error) {
	before, _ := c.Count()
	for k := range gc.Frames {
		it := replay.Item{Frame: gc.Frames[k].Data, Segs: 1, Wire: len(gc.Frames[k].Data)}
		if err := s.Queue(&it, true); err != nil {
			return nil, nil, nil, false, err
		}
	}
	if err := s.Flush(); err != nil {
		return nil, nil, nil, false, err
	}
	got = waitFrames(c, before, -1)
	vnets = c.Vnets()[before:]
	lossless = true
	sent := map[string]bool{}
	for _, f := range gc.Frames {
		sent[string(f.Data)] = true
	}
	for k, f := range got {
		h, err := gso.DecodeVnetHeader(vnets[k][:])
		if err != nil || h.GSOType == gso.None {
			obs = append(obs, 1)
			continue
		}
		segs, err := seg.Segment(f, layers.LinkTypeEthernet, h)
		if err != nil {
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
func writeGROFixture(dir string, n int, gc *GROCase, expected string, got [][]byte, vnets [][gso.VnetHeaderLen]byte) error {
	slug := strings.NewReplacer("/", "-", "_", "-").Replace(gc.Name)
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%02d-gro-%s.pcapng", n, slug)))
	if err != nil {
		return err
	}
	defer f.Close()
	w := pcaps.NewWriter(f, pcaps.WriterOptions{Format: pcaps.FormatPcapNG, Application: "gsoreplay probe --gro",
		Comment: fmt.Sprintf("gsoreplay probe GRO case %q: expected %s", gc.Name, expected)})
	w.DeclareInterfaces([]pcaps.Interface{{LinkType: layers.LinkTypeEthernet, Name: "sent"}, {LinkType: layers.LinkTypeEthernet, Name: "gro"}})
	for k, p := range gc.Frames {
		q := pcaps.Packet{Data: p.Data, Length: len(p.Data), Timestamp: p.Timestamp, LinkType: layers.LinkTypeEthernet}
		if err := w.Write(&q, []byte(fmt.Sprintf("sent %d of %d", k+1, len(gc.Frames)))); err != nil {
			return err
		}
	}
	for k, g := range got {
		h, _ := gso.DecodeVnetHeader(vnets[k][:])
		q := pcaps.Packet{Data: g, Length: len(g), Timestamp: time.Unix(1700000001, 0), Interface: 1, LinkType: layers.LinkTypeEthernet}
		if err := w.Write(&q, []byte(fmt.Sprintf("handed up by GRO: %s gso_size %d", h.GSOType, h.GSOSize))); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
