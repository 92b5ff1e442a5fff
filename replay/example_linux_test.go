package replay_test

import (
	"context"
	"fmt"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay"
)

// Replaying a capture through eth1 at top speed as GSO super-packets (needs
// CAP_NET_RAW; not run as a test).
func ExampleReplay() {
	open := func() (*pcaps.Reader, error) { return pcaps.Open("capture.pcap") }
	o := replay.Options{Pacing: replay.Pacing{Topspeed: true}}
	if err := o.Validate(); err != nil {
		panic(err)
	}
	rep, err := replay.Replay(context.Background(), "capture.pcap", open, "eth1", o)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d frames in %d sends, interface check %s\n", rep.Packets, rep.Sends, rep.IfaceCheck)
}
