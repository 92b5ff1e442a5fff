package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/gsoreplay/gsoreplay/internal/testcap"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
)

// TestVerifyForwardCommand: verify --forward --egress tso --json has the
// documented fields and exits 0 through the lab's router; --keep writes
// what the receiver got, which gsoreplay segment cuts into as many frames
// (counted by gopacket) as the report calls forwardable.
func TestVerifyForwardCommand(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	code, out, stderr := gsoreplay(t, nil, "verify", "--forward", "--egress", "tso", "--json", "--keep", dir, fixture)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"file", "egress", "packets", "forwardable", "router_gro", "received", "super_packets", "exact", "mismatched", "missing", "extra", "broken_at_gro", "broken_after_gro", "drops", "verdict"} {
		if _, ok := m[k]; !ok {
			t.Errorf("--json lacks %q: %s", k, out)
		}
	}
	if m["verdict"] != "exact" || m["egress"] != "tso" || m["super_packets"].(float64) == 0 || m["exact"] != m["forwardable"] {
		t.Fatalf("%s", out)
	}
	back := filepath.Join(dir, "back.pcap")
	if code, _, stderr := gsoreplay(t, nil, "segment", "-o", back, filepath.Join(dir, "kernel-traffic.forwarded.pcapng")); code != 0 {
		t.Fatalf("segment of what the receiver got: exit %d %s", code, stderr)
	}
	own, _ := m["router_own"].(float64) // left out when none
	if n := len(testcap.Frames(t, back)); float64(n) != m["forwardable"].(float64)+own {
		t.Errorf("the receiver's kept packets segment into %d frames; the report says %v forwarded and %v of the router's own", n, m["forwardable"], m["router_own"])
	}
}
