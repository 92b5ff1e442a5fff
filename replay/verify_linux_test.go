package replay

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// requireRoot skips a test that needs root and namespaces outside CI, and
// fails it in CI, where it must run.
func requireRoot(t *testing.T, tools ...string) {
	t.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "root"
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = tool
		}
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is not available", missing)
	}
	t.Skipf("needs %s", missing)
}

func fileOpener(path string) Opener {
	return func() (*pcaps.Reader, error) { return pcaps.Open(path) }
}

func TestVerifyKernelFixture(t *testing.T) {
	requireRoot(t)
	for _, order := range []coalesce.Order{coalesce.PerFlow, coalesce.Strict} {
		o := VerifyOptions{Source: SourceOptions{Coalesce: coalesce.DefaultOptions()}}
		o.Source.Coalesce.Order = order
		rep, err := Verify(context.Background(), "kernel-traffic", fileOpener("../testdata/kernel-traffic.pcap"), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v", order, *rep)
		if rep.Verdict != VerdictExact || rep.Exact != int(rep.Packets) || rep.SuperPackets == 0 {
			t.Errorf("%s: verdict %s: %+v", order, rep.Verdict, rep)
		}
	}
}
