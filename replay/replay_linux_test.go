package replay_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/lab"
)

// TestThreadsPacing: with two pipelines sharing the clock, --pps and --mbps
// hold their rate within 2 % (counted over both pipelines together),
// the frames sent equal what the interface counted, and --limit stops both.
func TestThreadsPacing(t *testing.T) {
	testenv.RequireRoot(t)
	var pkts []pcaps.Packet
	for _, fx := range craft.Fixtures() { // TCP and UDP flows over v4 and v6
		pkts = append(pkts, fx.Pkts...)
	}
	path := filepath.Join(t.TempDir(), "mixed.pcap")
	if err := craft.WriteFile(path, pkts); err != nil {
		t.Fatal(err)
	}
	open := func() (*pcaps.Reader, error) { return pcaps.Open(path) }
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, c := range []struct {
		name    string
		pacing  replay.Pacing
		preload bool
	}{
		{"pps", replay.Pacing{PPS: 40000}, false},
		{"pps preloaded", replay.Pacing{PPS: 40000}, true},
		{"mbps", replay.Pacing{Mbps: 300}, false},
	} {
		o := replay.Options{Pacing: c.pacing, Threads: 2, Loops: 0, Limit: 30000, Preload: c.preload,
			Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}}
		var rep *replay.Report
		err := l.Do(l.A, func() error {
			var err error
			rep, err = replay.Replay(context.Background(), "mixed", open, l.IfA, o)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, want := rep.PPS, c.pacing.PPS
		if c.pacing.Mbps > 0 {
			got, want = rep.Mbps, c.pacing.Mbps
		}
		t.Logf("%s: %d frames in %.3f s: %.0f pps, %.1f Mbit/s; %d threads, interface %d frames (%s)",
			c.name, rep.Packets, rep.Seconds, rep.PPS, rep.Mbps, rep.Threads, rep.IfaceTxPackets, rep.IfaceCheck)
		if math.Abs(got/want-1) > 0.02 {
			t.Errorf("%s: rate %.1f, want %.1f ± 2%%", c.name, got, want)
		}
		if rep.Threads != 2 || rep.IfaceCheck.String() != "ok" || rep.IfaceTxPackets != uint64(rep.Packets) || rep.Failed != 0 {
			t.Errorf("%s: %d threads, %d frames sent, interface counted %d (%s), %d failed", c.name, rep.Threads, rep.Packets, rep.IfaceTxPackets, rep.IfaceCheck, rep.Failed)
		}
		if rep.Packets < o.Limit || rep.Packets > o.Limit+2*64 {
			t.Errorf("%s: %d frames for --limit %d", c.name, rep.Packets, o.Limit)
		}
	}
}

// TestThreadsStreamGzip: a gzipped capture streams through two pipelines,
// each decompressing it on its own; every frame leaves, as the interface
// counts.
func TestThreadsStreamGzip(t *testing.T) {
	testenv.RequireRoot(t)
	raw, err := os.ReadFile("../testdata/kernel-traffic.pcap")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kernel-traffic.pcap.gz")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := pcaps.NewReader(bytes.NewReader(raw), "raw")
	if err != nil {
		t.Fatal(err)
	}
	var frames int64
	r.Each(func(*pcaps.Packet) error { frames++; return nil })
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var rep *replay.Report
	err = l.Do(l.A, func() error {
		o := replay.Options{Pacing: replay.Pacing{Topspeed: true}, Threads: 2, Loops: 1}
		rep, err = replay.Replay(context.Background(), path, func() (*pcaps.Reader, error) { return pcaps.Open(path) }, l.IfA, o)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Threads != 2 || rep.Packets != frames || rep.IfaceTxPackets != uint64(frames) || rep.IfaceCheck.String() != "ok" {
		t.Errorf("%d threads sent %d frames, interface %d (%s); the capture holds %d", rep.Threads, rep.Packets, rep.IfaceTxPackets, rep.IfaceCheck, frames)
	}
}

// TestThreadsBadInput: a capture cut inside a record fails with the reader's
// error, naming the place, whether the pipelines stream it or preload it —
// no hang, no partial success.
func TestThreadsBadInput(t *testing.T) {
	testenv.RequireRoot(t)
	raw, err := os.ReadFile("../testdata/kernel-traffic.pcap")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(path, raw[:5003], 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, preload := range []bool{false, true} {
		err := l.Do(l.A, func() error {
			o := replay.Options{Pacing: replay.Pacing{Topspeed: true}, Threads: 2, Loops: 1, Preload: preload}
			_, err := replay.Replay(context.Background(), path, func() (*pcaps.Reader, error) { return pcaps.Open(path) }, l.IfA, o)
			return err
		})
		if !errors.Is(err, pcaps.ErrTruncated) || !strings.Contains(err.Error(), "packet 24") {
			t.Errorf("preload %v: error %v, want the truncation at packet 24", preload, err)
		}
	}
}
