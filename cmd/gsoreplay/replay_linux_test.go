package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/lab"
)

// TestVerifyCommand: the main job on the built-in sample, JSON fields
// scripts rely on, --keep, and exit status 2 on an unreadable input.
func TestVerifyCommand(t *testing.T) {
	testenv.RequireRoot(t)
	code, out, stderr := gsoreplay(t, nil, "verify")
	if code != 0 || !strings.Contains(out, "@sample: EXACT") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, stderr)
	}
	dir := t.TempDir()
	code, out, stderr = gsoreplay(t, nil, "verify", "--json", "--keep", dir, "@sample", fixture)
	if code != 0 {
		t.Fatalf("verify --json: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON object per input, got %d lines", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"file", "packets", "super_packets", "coalesced_packets", "segments_captured", "exact", "normalized", "mismatched", "missing", "extra", "drops", "verdict"} {
			if _, ok := m[k]; !ok {
				t.Errorf("JSON lacks %q: %s", k, l)
			}
		}
		if m["verdict"] != "exact" || m["exact"] != m["packets"] {
			t.Errorf("not exact: %s", l)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "kernel-traffic.captured.pcapng")); err != nil {
		t.Errorf("--keep: %v", err)
	}
	vnet := filepath.Join(dir, "sample.vnet")
	if code, _, stderr := gsoreplay(t, nil, "coalesce", "-q", "--format", "vnet", "--order", "strict", "-o", vnet, "@sample"); code != 0 {
		t.Fatalf("coalesce --format vnet: exit %d: %s", code, stderr)
	}
	if code, out, stderr := gsoreplay(t, nil, "verify", vnet); code != 0 || !strings.Contains(out, "sample.vnet: EXACT") {
		t.Errorf("verify of a vnet file: exit %d\n%s%s", code, out, stderr)
	}
	bad := filepath.Join(dir, "bad.pcap")
	os.WriteFile(bad, []byte("not a capture at all"), 0o644)
	if code, _, stderr := gsoreplay(t, nil, "verify", bad); code != 2 || !strings.Contains(stderr, "bad.pcap") {
		t.Errorf("unreadable input: exit %d, %q", code, stderr)
	}
}

// labCLI builds a lab (closed when t ends) and returns a runner of the
// CLI in its sender's namespace; it needs root.
func labCLI(t *testing.T) (*lab.Lab, func(args ...string) (code int, out, stderr string)) {
	testenv.RequireRoot(t)
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, func(args ...string) (code int, out, stderr string) {
		l.Do(l.A, func() error {
			code, out, stderr = gsoreplay(t, nil, args...)
			return nil
		})
		return
	}
}

// TestReplayCommand sends through a lab interface: the report's frames agree
// with the interface's counters, and a frame above the MTU that is not GSO
// is counted under EMSGSIZE while the rest still goes.
func TestReplayCommand(t *testing.T) {
	l, inLab := labCLI(t)
	code, out, stderr := inLab("replay", "-i", l.IfA, "--topspeed", "--loop", "2", "--json", "@sample")
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	var rep replay.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Packets != 2*681 || rep.Loops != 2 || rep.SuperPackets == 0 || rep.IfaceTxPackets != uint64(rep.Packets) || rep.IfaceTxBytes != uint64(rep.Bytes) || rep.IfaceCheck.String() != "ok" {
		t.Errorf("report: %+v", rep)
	}

	// --limit stops within one super-packet of the limit, looping as needed.
	code, out, stderr = inLab("replay", "-i", l.IfA, "--topspeed", "--loop", "0", "--limit", "1000", "--json", "@sample")
	rep = replay.Report{}
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("replay --limit: exit %d, %v: %s", code, err, stderr)
	}
	if rep.Packets < 1000 || rep.Packets >= 1000+64 || rep.Loops != 2 || rep.IfaceTxPackets != uint64(rep.Packets) {
		t.Errorf("--limit 1000: %d packets in %d loops, interface %d", rep.Packets, rep.Loops, rep.IfaceTxPackets)
	}

	// Records of a vnet file (coalesce --format vnet) go out as they are,
	// super-packets resegmented by the kernel into the sample's frames.
	vnet := filepath.Join(t.TempDir(), "sample.vnet")
	if code, _, stderr := gsoreplay(t, nil, "coalesce", "-q", "--format", "vnet", "-o", vnet, "@sample"); code != 0 {
		t.Fatalf("coalesce --format vnet: exit %d: %s", code, stderr)
	}
	code, out, stderr = inLab("replay", "-i", l.IfA, "--topspeed", "--json", vnet)
	rep = replay.Report{}
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("replay of a vnet file: exit %d, %v: %s", code, err, stderr)
	}
	if rep.Packets != 681 || rep.SuperPackets == 0 || rep.IfaceTxPackets != uint64(rep.Packets) || rep.IfaceTxBytes != uint64(rep.Bytes) {
		t.Errorf("vnet file: %+v", rep)
	}

	// Two datagrams of 3000 bytes around ordinary frames.
	udp := craft.UDPBulk()
	pkts := craft.Packets(craft.Flow(udp, 3, nil))
	udp.Payload = craft.Payload(3000, 1)
	big := udp.Packet()
	pkts = append(pkts, big, pkts[0], big)
	path := filepath.Join(t.TempDir(), "big.pcap")
	if err := craft.WriteFile(path, pkts); err != nil {
		t.Fatal(err)
	}
	code, out, _ = inLab("replay", "-i", l.IfA, "--topspeed", "--no-coalesce", path)
	t.Logf("%s", out)
	if code != 1 || !strings.Contains(out, "EMSGSIZE      2") || !strings.Contains(out, "Successful packets:        4") {
		t.Errorf("over-MTU frames: exit %d\n%s", code, out)
	}
}

// TestProbeCommand: the matrix passes on this kernel and --json has the
// documented shape.
func TestProbeCommand(t *testing.T) {
	testenv.RequireRoot(t)
	code, out, stderr := gsoreplay(t, nil, "probe", "--json")
	if code != 0 {
		t.Fatalf("probe: exit %d: %s\n%s", code, stderr, out)
	}
	var rep struct {
		Kernel string           `json:"kernel"`
		Cases  []map[string]any `json:"cases"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Kernel == "" || len(rep.Cases) < 40 {
		t.Fatalf("kernel %q, %d cases", rep.Kernel, len(rep.Cases))
	}
	for _, c := range rep.Cases {
		for _, k := range []string{"name", "kind", "sent", "expected", "observed", "pass"} {
			if _, ok := c[k]; !ok {
				t.Errorf("case lacks %q: %v", k, c)
			}
		}
		switch c["kind"] {
		case "segmentation", "validation", "segmentation-tap", "validation-tap":
		default:
			t.Errorf("case of kind %v", c["kind"])
		}
		if c["pass"] != true || c["skipped"] != nil {
			t.Errorf("case %v", c)
		}
	}
}

// TestKernelCommandUsage: bad flags and unreadable inputs of replay, verify
// and probe exit 2 with one line, before any socket or lab exists (no root
// needed).
func TestKernelCommandUsage(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a capture at all"), 0o644)
	// tcpprep caches: one for 3 packets (the sample has 681), one of
	// version 03.
	cache3 := filepath.Join(dir, "three.cache")
	os.WriteFile(cache3, []byte("tcpprep\x0004\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x04\x00\x00\x3f"), 0o644)
	old := filepath.Join(dir, "old.cache")
	os.WriteFile(old, []byte("tcpprep\x0003\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x04\x00\x00\x3f"), 0o644)
	sample := filepath.Join(dir, "sample.pcap")
	gsoreplay(t, nil, "segment", "-q", "-o", sample, "@sample") // @sample is coalesced: its frames as a pcap
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "-i", "lo", "-I", "lo", "-c", cache3, sample}, "numbers 3 packets"},
		{[]string{"replay", "-i", "lo", "-I", "lo", "-c", old, sample}, "version"},
		{[]string{"replay", "-i", "lo", "-I", "lo", sample}, "needs --cachefile"},
		{[]string{"replay", "-i", "lo", "--split", "client", sample}, "need a second interface"},
		{[]string{"replay", "-i", "lo", "-I", "lo", "--split", "bridge", sample}, "--split"},
		{[]string{"replay", "-i", "lo", "-I", "lo", "--split", "cidr:10.0.0.0/40", sample}, "cidr"},
		{[]string{"verify", "-c", cache3, sample, sample}, "one input"},
		{[]string{"replay", "@sample"}, "missing -i IFACE"},
		{[]string{"replay", "-i", "lo"}, "missing input"},
		{[]string{"replay", "-i", "lo", "-t", "-x", "2", "@sample"}, "choose one of"},
		{[]string{"replay", "-i", "lo", "--loop", "-1", "@sample"}, "--loop"},
		{[]string{"replay", "-i", "lo", "--mss", "3", "@sample"}, "--mss"},
		{[]string{"replay", "-i", "lo", "--threads", "0", "@sample"}, "--threads 0: want 1..256"},
		{[]string{"replay", "-i", "lo", "--cpus", "1-x", "@sample"}, "--cpus \"1-x\""},
		{[]string{"verify", "--threads", "-2"}, "--threads -2"},
		{[]string{"verify", "--cpus", "3-1"}, "--cpus"},
		{[]string{"replay", "-i", "lo", "--loop", "2", "-"}, "must be a file"},
		{[]string{"replay", "-i", "lo", text}, "notes.txt: magic"},
		{[]string{"verify", "--iface", "lo"}, "go together"},
		{[]string{"verify", "--ring-mb", "3"}, "--ring-mb"},
		{[]string{"verify", filepath.Join(dir, "missing.pcap")}, "missing.pcap"},
		{[]string{"verify", text}, "notes.txt: magic"},
		{[]string{"replay", "-i", "lo", "--shard", "3/3", "@sample"}, "--shard 3/3: want K/N"},
		{[]string{"replay", "-i", "lo", "--shard", "x", "@sample"}, "--shard x"},
		{[]string{"replay", "-i", "lo", "--start-at", "tomorrow", "@sample"}, "--start-at tomorrow: want RFC 3339"},
		{[]string{"replay", "-i", "lo", "--start-at", "+-3s", "@sample"}, "--start-at +-3s"},
		{[]string{"replay", "-i", "lo", "--pps-total", "--pps", "10", "@sample"}, "--pps-total needs --shard"},
		{[]string{"replay", "-i", "lo", "--pps-total", "--shard", "0/2", "@sample"}, "--pps-total needs --pps or --mbps"},
		{[]string{"replay", "-i", "lo", "--loopdelay-ms", "5", "@sample"}, "need --loop"},
		{[]string{"replay", "-i", "lo", "--loop", "2", "--loopdelay-ms", "5", "--loopdelay-ns", "9", "@sample"}, "not both"},
		{[]string{"replay", "-i", "lo", "--stats", "-1", "@sample"}, "--stats -1"},
		{[]string{"replay", "-i", "lo", "--pps-multi", "4", "@sample"}, "--pps-multi 4: want 1 or more, with --pps"},
		{[]string{"replay", "-i", "lo", "--maxsleep", "-3", "@sample"}, "--maxsleep -3"},
		{[]string{"replay", "-i", "lo", "--unique-ip-loops", "2", "@sample"}, "--unique-ip-loops needs --unique-ip"},
		{[]string{"replay", "-i", "lo", "--unique-ip", "--unique-ip-loops", "0.5", "@sample"}, "--unique-ip-loops 0.5"},
		{[]string{"report", "merge"}, "no reports given"},
		{[]string{"report", "merge", text}, "notes.txt: report 1: not a replay --json report"},
		{[]string{"probe", "extra"}, "no arguments"},
		{[]string{"probe", "--timeout", "0s"}, "--timeout"},
	} {
		code, _, stderr := gsoreplay(t, nil, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestReadmeVerify: what README.md shows verify printing, it prints (the
// durations aside).
func TestReadmeVerify(t *testing.T) {
	testenv.RequireRoot(t)
	if n := runReadme(t, func(cmd string) bool { return cmd == "verify" }); n < 2 {
		t.Errorf("only %d README examples of verify ran", n)
	}
}
