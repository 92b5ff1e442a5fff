package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay"
)

// flowsLine is a "Flows:" line without its flows per second, which depend
// on each tool's own timing.
var flowsLine = regexp.MustCompile(`(?m)^Flows: .*$`)
var fpsField = regexp.MustCompile(` [0-9]+\.[0-9]{2} fps`)

func flowsOf(out []byte) string {
	return fpsField.ReplaceAllString(string(flowsLine.Find(out)), " fps")
}

// TestFlowsLine: the "Flows:" line of replay is tcpreplay 4.6's (its
// output is the oracle) on the same captures: every capture of the corpus
// once, and the kernel traffic and five corpus captures (VLAN and MPLS,
// IPv6 fragments, pcapng, non-IP frames, flows that pause) looped,
// preloaded, with --unique-ip and --unique-ip-loops, and with
// --flow-expiry; --json's flows hold the same counts, and two threads
// count what one does.
func TestFlowsLine(t *testing.T) {
	testenv.RequireRoot(t, "ip", "ethtool")
	t46 := tcpreplay46(t)
	corpus, _ := filepath.Glob("../../../shared/corpus/*.pcap*")
	if len(corpus) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no corpus in CI")
		}
		t.Skip("no corpus")
	}
	l := newTwoLab(t)
	bin := buildBinary(t, t.TempDir())
	run := func(name string, args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.a, name}, args...)...).Output()
	}
	compare := func(in string, args []string) bool {
		t.Helper()
		want, err := run(t46, append(append([]string{"-i", "va1", "-t"}, args...), in)...)
		if err != nil {
			// tcpreplay 4.6 cannot read some pcapng files (interfaces of
			// several link types) and stalls on a TX ring after a frame
			// above the MTU: nothing to compare.
			t.Logf("%s %v: tcpreplay 4.6 failed (%v): not compared", filepath.Base(in), args, err)
			return false
		}
		// Only where tcpreplay reported, and read every record: it says
		// nothing when every send failed, and its libpcap stops a pcapng
		// at its second interface.
		if !bytes.Contains(want, []byte("Successful packets:")) {
			t.Logf("%s %v: tcpreplay 4.6 reported nothing: not compared", filepath.Base(in), args)
			return false
		}
		if n := interfaces(t, in); n > 1 {
			t.Logf("%s: %d interfaces, tcpreplay 4.6 reads the first: not compared", filepath.Base(in), n)
			return false
		}
		got, _ := run(bin, append(append([]string{"replay", "-i", "va1", "-t"}, args...), in)...)
		if w, g := flowsOf(want), flowsOf(got); w != g {
			t.Errorf("%s %v:\ntcpreplay 4.6: %q\nours:          %q", filepath.Base(in), args, w, g)
		}
		return true
	}
	compared := 0
	for _, in := range corpus {
		if compare(in, nil) {
			compared++
		}
	}
	if compared < len(corpus)*2/3 {
		t.Errorf("tcpreplay 4.6 read only %d of %d corpus captures", compared, len(corpus))
	}
	t.Logf("%d corpus captures compared", compared)

	looped := []string{fixture}
	for _, f := range []string{"tcpreplay__test.pcap", "zeek__mixed-vlan-mpls.pcap", "zeek__ipv6-fragmented-dns.pcap", "zeek__irc-dcc-send.pcapng", "zeek__wikipedia-filtered-plus-udp.pcap"} {
		looped = append(looped, "../../../shared/corpus/"+f)
	}
	modes := [][]string{
		{"--loop", "3"}, {"-K", "--loop", "3"},
		{"--loop", "3", "--unique-ip"}, {"-K", "--loop", "3", "--unique-ip"},
		{"--loop", "5", "--unique-ip", "--unique-ip-loops", "2"}, {"-K", "--loop", "5", "--unique-ip", "--unique-ip-loops", "2"},
		{"--flow-expiry", "1"}, {"--flow-expiry", "2", "--loop", "2"}, {"-K", "--flow-expiry", "1", "--loop", "2"},
	}
	expired := false
	for _, in := range looped {
		for _, m := range modes {
			if !compare(in, m) {
				t.Errorf("%s %v: tcpreplay 4.6 must read it", in, m)
			}
		}
		// --json and two threads: the counts of tcpreplay's line.
		want, err := run(t46, "-i", "va1", "-t", "--flow-expiry", "1", in)
		if err != nil {
			t.Fatalf("tcpreplay 4.6: %v", err)
		}
		m := regexp.MustCompile(`Flows: (\d+) flows, (\d+) unique, (\d+) expired, [0-9.]+ fps, (\d+) unique flow packets, (\d+) unique non-flow packets`).FindSubmatch(want)
		if m == nil {
			t.Fatalf("tcpreplay 4.6 wrote no Flows line: %s", want)
		}
		var n [5]int64
		for i := range n {
			n[i], _ = strconv.ParseInt(string(m[i+1]), 10, 64)
		}
		expired = expired || n[2] > 0
		out, err := run(bin, "replay", "-i", "va1", "-t", "--threads", "2", "--flow-expiry", "1", "--json", in)
		if err != nil {
			t.Fatalf("replay --json: %v", err)
		}
		var rep replay.Report
		if err := json.Unmarshal(out, &rep); err != nil || rep.Flows == nil {
			t.Fatalf("replay --json: %v, flows %v: %s", err, rep.Flows, out)
		}
		f := rep.Flows
		if got := [5]int64{f.Flows, f.Unique, f.Expired, f.FlowPackets, f.NonFlowPackets}; got != n || f.ExpirySeconds != 1 {
			t.Errorf("%s --threads 2 --json: flows %+v; tcpreplay 4.6 counted %v", filepath.Base(in), *f, n)
		}
	}
	if !expired {
		t.Error("no capture had a flow expire: --flow-expiry untested")
	}
	out, err := run(bin, "replay", "-i", "va1", "-t", "--no-flow-stats", "--json", fixture)
	if err != nil || bytes.Contains(out, []byte(`"flows"`)) {
		t.Errorf("--no-flow-stats: %v %s", err, out)
	}
}

// interfaces counts the interfaces a capture declares.
func interfaces(t *testing.T, path string) int {
	t.Helper()
	r, err := pcaps.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Each(func(*pcaps.Packet) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return len(r.Interfaces())
}

// TestFlowsFPS: the flows per second tcpreplay 4.6 printed for the flows
// and microseconds its report states (its output, recorded) are what
// tcpreplayFlows writes for them.
func TestFlowsFPS(t *testing.T) {
	for _, c := range []struct {
		f    replay.FlowStats
		us   int64
		want string
	}{
		// tcpreplay 4.6 on tcpdump__mptcp-v1.pcap: "sent in 0.002087 seconds".
		{replay.FlowStats{Flows: 2, FlowPackets: 20}, 2087, "Flows: 2 flows, 958.31 fps, 20 unique flow packets, 0 unique non-flow packets"},
		// on zeek__smb_smb3_multichannel.pcap, 0.032068 seconds.
		{replay.FlowStats{Flows: 9, FlowPackets: 1408, NonFlowPackets: 40}, 32068, "Flows: 9 flows, 280.65 fps, 1408 unique flow packets, 40 unique non-flow packets"},
		// on tcpdump__of13_ericsson.pcapng, 0.004379 seconds.
		{replay.FlowStats{Flows: 42, FlowPackets: 174}, 4379, "Flows: 42 flows, 9591.23 fps, 174 unique flow packets, 0 unique non-flow packets"},
		// --flow-expiry's form; fps as above, by the formula.
		{replay.FlowStats{Flows: 6, Unique: 4, Expired: 2, FlowPackets: 8, ExpirySeconds: 1}, 1_000_000, "Flows: 6 flows, 4 unique, 2 expired, 6.00 fps, 8 unique flow packets, 0 unique non-flow packets"},
	} {
		var b bytes.Buffer
		tcpreplayFlows(&b, &c.f, time.Duration(c.us)*time.Microsecond)
		if got := strings.TrimSpace(b.String()); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}
