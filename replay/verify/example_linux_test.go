package verify_test

import (
	"context"
	"fmt"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/verify"
)

// Verifying a capture in a private lab (needs root; not run as a test).
func ExampleVerify() {
	open := func() (*pcaps.Reader, error) { return pcaps.Open("capture.pcap") }
	rep, err := verify.Verify(context.Background(), "capture.pcap", open, verify.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %d exact, %d mismatched, %d missing, passed %v\n", rep.Verdict, rep.Exact, rep.Mismatched, rep.Missing, rep.Verdict.Passed())
}
