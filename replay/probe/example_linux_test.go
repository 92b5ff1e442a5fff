package probe_test

import (
	"context"
	"fmt"

	"github.com/gsoreplay/gsoreplay/replay/probe"
)

// Probing this kernel's GSO in a private lab (needs root; not run as a
// test): every case, and what deviates.
func ExampleRun() {
	rep, err := probe.Run(context.Background(), probe.Options{})
	if err != nil {
		panic(err)
	}
	for _, c := range rep.Cases {
		if !c.Pass {
			fmt.Printf("%s: expected %s, observed %s\n", c.Name, c.Expected, c.Observed)
		}
	}
	fmt.Printf("kernel %s: %d of %d cases deviate\n", rep.Kernel, rep.Failed, len(rep.Cases))
}
