package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/lab"
)

// labCapture is gsoreplay verify without the comparison: the same lab
// (lab.NewTestbed), the same replay of in at top speed in batches of 32
// through it, and the same capture of every segmented frame at the
// sender's transmit tap, each frame counted and nothing else. Its rate is
// the most a verify that sees every frame can reach on this machine.
func labCapture(in string) error {
	start := time.Now()
	tb, err := lab.NewTestbed(lab.TestbedOptions{})
	if err != nil {
		return err
	}
	defer tb.Close()
	var captured atomic.Int64
	tb.Stream(func(int, []byte, time.Time, gso.VnetHeader) { captured.Add(1) })
	open := func() (*pcaps.Reader, error) { return pcaps.Open(in) }
	o := replay.Options{Pacing: replay.Pacing{Topspeed: true}, Loops: 1, Batch: 32,
		Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}, In: tb.InSender}
	o.Threads = o.ThreadCount()
	rep, err := replay.Replay(context.Background(), in, open, tb.Send, o)
	if err != nil {
		return err
	}
	if _, _, err := tb.Finish(context.Background(), int(rep.Packets), 300*time.Millisecond); err != nil {
		return err
	}
	if n := captured.Load(); n != rep.Packets {
		return fmt.Errorf("%s: %d frames sent, %d captured", in, rep.Packets, n)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"frames": captured.Load(), "seconds": time.Since(start).Seconds()})
}
