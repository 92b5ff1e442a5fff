package main

import (
	"encoding/json"
	"testing"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
)

// TestVerifyGROCommand: verify --gro --json has the documented fields and
// exits 0 for a lossless receiver; --gro refuses rewriting and splits.
func TestVerifyGROCommand(t *testing.T) {
	testenv.RequireRoot(t)
	code, out, stderr := gsoreplay(t, nil, "verify", "--gro", "--json", fixture)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"file", "packets", "gro_packets", "gro_merged", "lossless", "lossy", "missing", "extra", "drops", "verdict"} {
		if _, ok := m[k]; !ok {
			t.Errorf("--json lacks %q: %s", k, out)
		}
	}
	if m["verdict"] != "lossless" || m["gro_packets"].(float64) == 0 {
		t.Errorf("%s", out)
	}
	if code, _, stderr := gsoreplay(t, nil, "verify", "--gro", "--pnat", "10.0.0.0/8:11.0.0.0/8", fixture); code != 2 {
		t.Errorf("--gro with rewriting: exit %d %s", code, stderr)
	}
}
