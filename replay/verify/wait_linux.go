package verify

import (
	"context"
	"time"

	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/capture"
)

// sendDefaults fills what Verify and VerifyGRO leave to defaults: top
// speed, batches of 32, 300 ms of quiet to end a capture; and checks the
// pacing and that existing interfaces come in pairs.
func sendDefaults(p *replay.Pacing, batch *int, idle *time.Duration, iface, captureIface string) error {
	if *p == (replay.Pacing{}) {
		p.Topspeed = true
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if *batch == 0 {
		*batch = 32
	}
	if *idle == 0 {
		*idle = 300 * time.Millisecond
	}
	if (iface == "") != (captureIface == "") {
		return ErrInterfaces
	}
	return nil
}

// waitOutput waits for the captures to take what was sent: want frames
// (any number when want < 0) and 20 ms of quiet, or idle of quiet, or 30 s.
func waitOutput(ctx context.Context, want int, idle time.Duration, cs ...*capture.Capture) {
	sentAt := time.Now()
	for {
		n, last := 0, time.Time{}
		for _, c := range cs {
			if c == nil {
				continue
			}
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
