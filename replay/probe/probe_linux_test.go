package probe

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
)

// TestProbe runs the conformance matrix in a lab: on this kernel every case
// passes; with one expectation flipped the probe fails on that case, saying
// what it expected and what it saw.
func TestProbe(t *testing.T) {
	testenv.RequireRoot(t)
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Errorf("only %d cases", len(cases))
	}
	dir := t.TempDir()
	rep, err := Run(context.Background(), Options{Cases: cases, WriteFixtures: dir})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[Kind]int{}
	for _, c := range rep.Cases {
		kinds[c.Kind]++
		if !c.Pass {
			t.Errorf("%s: sent %s: expected %s, observed %s %s", c.Name, c.Sent, c.Expected, c.Observed, c.Detail)
		}
	}
	if rep.Failed != 0 || rep.Skipped != 0 || len(rep.Cases) != len(cases) || kinds[KindSegmentation] < 15 || kinds[KindValidation] < 20 ||
		kinds[KindValidationTap] < kinds[KindValidation]+10 || kinds[KindSegmentationTap] < 10 {
		t.Errorf("%d of %d failed, %d skipped, kinds %v", rep.Failed, len(rep.Cases), rep.Skipped, kinds)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.pcapng")); len(files) != len(cases) {
		t.Errorf("%d fixtures for %d cases", len(files), len(cases))
	}

	flipped := []Case{cases[0]}
	flipped[0].Expect = refused("EINVAL")
	rep, err = Run(context.Background(), Options{Cases: flipped})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 || rep.Cases[0].Pass || rep.Cases[0].Expected != "EINVAL" || !strings.HasPrefix(rep.Cases[0].Observed, "accepted, 45 segments") {
		t.Errorf("flipped expectation: %+v", rep.Cases[0])
	}
}

// TestProbeTunnelBefore617: on a kernel before 6.17 (pretended) the
// cases with the tunnel header are skipped as not supported, not failed;
// the others run.
func TestProbeTunnelBefore617(t *testing.T) {
	testenv.RequireRoot(t)
	cases, err := Cases()
	if err != nil {
		t.Fatal(err)
	}
	var some []Case
	tunnel := 0
	for _, c := range cases {
		if c.Kind.Tap() {
			some = append(some, c)
			if c.TapHeader == gso.VnetTunnelHeaderLen {
				tunnel++
			}
		}
	}
	defer func(u func(*unix.Utsname) error) { uname = u }(uname)
	uname = func(u *unix.Utsname) error {
		copy(u.Release[:], "6.16.7\x00")
		return nil
	}
	rep, err := Run(context.Background(), Options{Cases: some})
	if err != nil {
		t.Fatal(err)
	}
	skipped := 0
	for _, c := range rep.Cases {
		if c.Skipped {
			skipped++
			if !c.Pass || !strings.Contains(c.Observed, "not supported by this kernel") {
				t.Errorf("%s: %+v", c.Name, c)
			}
		}
	}
	if rep.Kernel != "6.16.7" || skipped != tunnel || rep.Skipped != tunnel || rep.Failed != 0 || len(rep.Cases) != len(some) || tunnel == 0 {
		t.Errorf("kernel %s: %d of %d cases skipped (want the %d with the tunnel header), %d failed", rep.Kernel, rep.Skipped, len(rep.Cases), tunnel, rep.Failed)
	}
}

// TestProbeGRO runs the GRO matrix: at least 25 cases, every one passing on
// this kernel, one pcapng each; one expectation flipped fails that case.
func TestProbeGRO(t *testing.T) {
	testenv.RequireRoot(t)
	cases := GROCases()
	if len(cases) < 25 {
		t.Errorf("only %d GRO cases", len(cases))
	}
	dir := t.TempDir()
	rep, err := RunGRO(context.Background(), GROOptions{Cases: cases, WriteFixtures: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Cases {
		if !c.Pass || c.Kind != KindGRO {
			t.Errorf("%s: sent %s: expected %s, observed %s (%s)", c.Name, c.Sent, c.Expected, c.Observed, c.Detail)
		}
		if c.Attempts > 1 {
			t.Logf("%s: passed on attempt %d", c.Name, c.Attempts)
		}
	}
	if rep.Failed != 0 || len(rep.Cases) != len(cases) {
		t.Errorf("%d of %d failed", rep.Failed, len(rep.Cases))
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.pcapng")); len(files) != len(cases) {
		t.Errorf("%d fixtures for %d cases", len(files), len(cases))
	}
	// A deviation repeats: sent three times, failed three times.
	flipped := []GROCase{cases[0]} // data_same/v4: one packet of 3
	flipped[0].Expect = []int{1, 1, 1}
	rep, err = RunGRO(context.Background(), GROOptions{Cases: flipped})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 || rep.Cases[0].Pass || rep.Cases[0].Expected != "packets of [1 1 1] frames, lossless" || rep.Cases[0].Observed != "packets of [3] frames, lossless" || rep.Cases[0].Attempts != 3 {
		t.Errorf("flipped expectation: %+v", rep.Cases[0])
	}
}

// TestProbeForward runs the forwarding matrix: every GRO case through the
// lab's router by both egresses, fraglist GRO, BIG TCP; every case passing
// on this kernel, the known hazards among them; an expectation flipped
// fails its case.
func TestProbeForward(t *testing.T) {
	testenv.RequireRoot(t)
	cases := ForwardCases()
	if want := 2 * len(GROCases()); len(cases) < want {
		t.Errorf("%d forward cases, want at least %d", len(cases), want)
	}
	dir := t.TempDir()
	rep, err := RunForward(context.Background(), ForwardOptions{Cases: cases, Keep: dir})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, c := range rep.Cases {
		if !c.Pass || c.Kind != KindForward {
			t.Errorf("%s: sent %s: expected %s, observed %s (%s)", c.Name, c.Sent, c.Expected, c.Observed, c.Detail)
		}
		seen[c.Name] = c.Observed
	}
	if rep.Failed != 0 || len(rep.Cases) != len(cases) {
		t.Errorf("%d of %d failed", rep.Failed, len(rep.Cases))
	}
	for name, want := range map[string]string{
		"data_same/v4 via gso":                   ForwardExact,
		"ip_id_df1_fixed/v4 via tso":             ForwardExact,
		"udp_data_same/v4 fraglist via gso":      "mismatched 2 of 3: IPv4 TTL, IPv4 header checksum",
		"big_tcp_whole/v4 via tso":               ForwardExact,
		"big_tcp_whole/v6 via tso":               "dropped by router IPv6 Ip6InHdrErrors",
		"ip_v6ext_same/v6 via gso":               ForwardExact,
		"flags_cwr/v4 via tso":                   ForwardExact,
		"data_same/v6 snat via gso":              ForwardExact,
		"udp_data_same/v4 fraglist snat via gso": "mismatched 2 of 3: IPv4 TTL, IPv4 header checksum",
		"data_same/v6 fraglist snat via tso":     "mismatched 2 of 3: IPv6 hop limit",
	} {
		if seen[name] != want {
			t.Errorf("%s: observed %q, want %q", name, seen[name], want)
		}
	}
	if dirs, _ := filepath.Glob(filepath.Join(dir, "*")); len(dirs) != len(cases) {
		t.Errorf("%d kept directories for %d cases", len(dirs), len(cases))
	}
	flipped := []ForwardCase{cases[0]}
	flipped[0].Expect = forwardDropped + "IPv4 InHdrErrors"
	rep, err = RunForward(context.Background(), ForwardOptions{Cases: flipped})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 || rep.Cases[0].Pass || rep.Cases[0].Observed != ForwardExact {
		t.Errorf("flipped expectation: %+v", rep.Cases[0])
	}
}
