package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
)

// TestStatsLines: tcpreplay 4.6's "Actual" and "Rated" lines for the
// packets, bytes and microseconds its own report states (its output is the
// oracle) are the lines tcpreplayStats writes for them; and replay --stats
// 1 writes "Test start" and then those lines on standard error about once
// a second, the counts growing.
func TestStatsLines(t *testing.T) {
	testenv.RequireRoot(t, "ip", "ethtool")
	t46 := tcpreplay46(t)
	l := newTwoLab(t)
	in, _ := filepath.Abs(fixture)
	actual := regexp.MustCompile(`(?m)^Actual: (\d+) packets \((\d+) bytes\) sent in (\d+)\.(\d{6}) seconds\n(Rated: .*)$`)
	for _, args := range [][]string{{}, {"--mbps", "20"}, {"--pps", "20000"}} {
		out, err := exec.Command("ip", append(append([]string{"netns", "exec", l.a, t46, "-i", "va1"}, args...), in)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tcpreplay 4.6: %v %s", err, out)
		}
		m := actual.FindSubmatch(out)
		if m == nil {
			t.Fatalf("tcpreplay 4.6 %v wrote no sub-second Actual line: %s", args, out)
		}
		frames, _ := strconv.ParseInt(string(m[1]), 10, 64)
		nbytes, _ := strconv.ParseInt(string(m[2]), 10, 64)
		secs, _ := strconv.ParseInt(string(m[3]), 10, 64)
		us, _ := strconv.ParseInt(string(m[4]), 10, 64)
		var b bytes.Buffer
		tcpreplayStats(&b, frames, nbytes, time.Duration(secs)*time.Second+time.Duration(us)*time.Microsecond)
		want := strings.TrimSpace(string(m[0]))
		t.Logf("tcpreplay 4.6 %v: %s", args, want)
		if got := strings.TrimSpace(b.String()); got != want {
			t.Errorf("tcpreplay 4.6 %v:\n%s\nours:\n%s", args, want, got)
		}
	}

	bin := buildBinary(t, t.TempDir())
	cmd := exec.Command("ip", "netns", "exec", l.a, bin, "replay", "-q", "-i", "va1", "--stats", "1", "--pps", "350", in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("replay --stats 1: %v %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) < 1 || !strings.HasPrefix(lines[0], "Test start: ") {
		t.Fatalf("no Test start line: %q", lines)
	}
	var at []float64
	var counts []int64
	for _, m := range regexp.MustCompile(`Actual: (\d+) packets \(\d+ bytes\) sent in (\d+\.\d+) seconds`).FindAllStringSubmatch(stderr.String(), -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		s, _ := strconv.ParseFloat(m[2], 64)
		counts, at = append(counts, n), append(at, s)
	}
	// 817 frames at 350 a second: about 2.3 s, so two lines.
	if len(at) != 2 {
		t.Fatalf("%d Actual lines in 2.3 s, want 2: %s", len(at), stderr.String())
	}
	for i, s := range at {
		if s < float64(i+1)-0.05 || s > float64(i+1)+0.3 || (i > 0 && counts[i] <= counts[i-1]) {
			t.Errorf("line %d at %.2f s with %d packets: %s", i+1, s, counts[i], stderr.String())
		}
	}
}

// TestLoopDelay: --loop 3 --loopdelay-ms 300 at top speed puts the three
// passes on the wire whole, with two pauses of 300 ms between them at the
// peer (tcpdump's timestamps), and none within a pass.
func TestLoopDelay(t *testing.T) {
	testenv.RequireRoot(t, "ip", "ethtool", "tcpdump")
	l := newTwoLab(t)
	bin := buildBinary(t, t.TempDir())
	in, _ := filepath.Abs(fixture)
	n := len(readStamped(t, in))
	for _, args := range [][]string{{"-t"}, {"-t", "-K"}, {"--pps", "20000"}} {
		var got []stamped
		for attempt := 1; ; attempt++ {
			// tcpdump at the peer may miss a frame of a burst at top speed
			// (the replay's own report and the interface count them all):
			// the run is taken again, the pauses are what is tested.
			got = l.capture(t, append(append([]string{bin, "replay", "-q", "-i", "va1", "--loop", "3", "--loopdelay-ms", "300"}, args...), in)...)[0]
			if len(got) == 3*n {
				break
			}
			if attempt == 3 {
				t.Fatalf("%v: the peer got %d frames of 3 passes of %d", args, len(got), n)
			}
			t.Logf("%v: attempt %d: the peer's capture got %d frames of %d; again", args, attempt, len(got), 3*n)
		}
		var gaps []time.Duration
		for i := 1; i < len(got); i++ {
			if d := got[i].ts.Sub(got[i-1].ts); d > 150*time.Millisecond {
				gaps = append(gaps, d)
				if i%n != 0 {
					t.Errorf("%v: a pause of %v inside a pass, at frame %d", args, d, i+1)
				}
			}
		}
		if len(gaps) != 2 || gaps[0] < 300*time.Millisecond || gaps[1] < 300*time.Millisecond || gaps[0] > 400*time.Millisecond || gaps[1] > 400*time.Millisecond {
			t.Errorf("%v: pauses %v, want two of 300 ms", args, gaps)
		}
	}
}

// TestListNICs: replay --listnics prints tcpreplay 4.6's header and, one a
// line, the interfaces of the namespace but loopback: each one tcpreplay
// 4.6 lists too (it adds libpcap's pseudo-devices, "any" and the like),
// and every one iproute2 shows.
func TestListNICs(t *testing.T) {
	testenv.RequireRoot(t, "ip")
	theirs, err := exec.Command(tcpreplay46(t), "--listnics").CombinedOutput()
	if err != nil {
		t.Fatalf("tcpreplay 4.6 --listnics: %v %s", err, theirs)
	}
	code, out, stderr := gsoreplay(t, nil, "replay", "--listnics")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || lines[0] != "Available network interfaces:" {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	ipOut, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(ipOut)), "\n") {
		f := strings.SplitN(l, ": ", 3)
		if name, _, _ := strings.Cut(f[1], "@"); name != "lo" {
			want[name] = true
		}
	}
	t46Names := map[string]bool{}
	for _, l := range strings.Split(string(theirs), "\n")[1:] {
		t46Names[strings.TrimSpace(l)] = true
	}
	for _, name := range lines[1:] {
		if !want[name] || !t46Names[name] {
			t.Errorf("%q listed: iproute2 %v, tcpreplay 4.6 %v", name, want[name], t46Names[name])
		}
		delete(want, name)
	}
	if len(want) > 0 {
		t.Errorf("not listed: %v", want)
	}
}

// TestOneAtATime: --oneatatime asks before packet 1, 3, 4 and 7 when told
// 2, Enter (one), 3, then meets the end of its input: the peer receives
// the capture's first 6 frames, in order, and the prompts and "Sending
// packet" lines are tcpreplay's.
func TestOneAtATime(t *testing.T) {
	testenv.RequireRoot(t, "ip", "ethtool", "tcpdump")
	l := newTwoLab(t)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	in, _ := filepath.Abs(fixture)
	out := filepath.Join(dir, "out.txt")
	got := l.capture(t, "sh", "-c", fmt.Sprintf("printf '2\\n\\n3\\n' | %s replay -i va1 -o %s > %s", bin, in, out))[0]
	want := readStamped(t, in)[:6]
	if len(got) != len(want) {
		t.Fatalf("the peer got %d frames, want the first %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].data, want[i].data) {
			t.Fatalf("frame %d is not the capture's frame %d", i+1, i+1)
		}
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var prompts []string
	for _, m := range regexp.MustCompile(`\*\*\*\* Next packet #(\d+) out va1\.  How many packets do you wish to send\? `).FindAllStringSubmatch(string(text), -1) {
		prompts = append(prompts, m[1])
	}
	// (Piped, the answers are not echoed: a "Sending" line follows the
	// prompt on its line, as with tcpreplay.)
	sending := regexp.MustCompile(`Sending packet (\d+) out: va1\n`).FindAllStringSubmatch(string(text), -1)
	if strings.Join(prompts, ",") != "1,3,4,7" || len(sending) != 6 || sending[5][1] != "6" {
		t.Errorf("prompts before %v, %d sending lines: %s", prompts, len(sending), text)
	}
}

// TestUniqueIP: what --unique-ip puts on the wire, loop after loop, is
// what tcpreplay 4.6 --unique-ip puts there (both captured as they leave),
// streaming and preloaded (tcpreplay's cached packets), with a new shift
// every loop and every second; but for the frames that are not IP, which
// gsoreplay sends unchanged where tcpreplay drops them. Every IPv4 header
// checksum and TCP/UDP checksum of the edited loops is right (gopacket),
// and the merges are those of the first loop.
func TestUniqueIP(t *testing.T) {
	testenv.RequireRoot(t, "ip", "ethtool", "tcpdump")
	t46 := tcpreplay46(t)
	l := newTwoLab(t)
	l.outgoing = true
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	in, _ := filepath.Abs(fixture)
	n := len(readStamped(t, in))
	for _, c := range []struct {
		loops, every string
		k            bool
		edited       []int // the loops tcpreplay edits, from its increment_iteration
	}{{"3", "1", false, []int{2, 3}}, {"3", "1", true, []int{2, 3}}, {"5", "2", false, []int{2, 3, 5}}, {"5", "2", true, []int{2, 3, 5}}} {
		args := []string{"--pps", "20000", "--loop", c.loops, "--unique-ip", "--unique-ip-loops", c.every}
		if c.k {
			args = append(args, "-K")
		}
		repOut := filepath.Join(dir, "rep.json")
		ours := l.capture(t, "sh", "-c", fmt.Sprintf("%s replay --threads 1 -i va1 --json %s %s > %s", bin, strings.Join(args, " "), in, repOut))[0]
		// tcpreplay drops what is not IP in the loops it edits: so do we,
		// for the comparison.
		loops, _ := strconv.Atoi(c.loops)
		if len(ours) != loops*n {
			t.Fatalf("%v: the peer got %d frames, want %d loops of %d", args, len(ours), loops, n)
		}
		var kept []stamped
		for i, f := range ours {
			if slices.Contains(c.edited, i/n+1) && !isIP(f.data) {
				continue
			}
			kept = append(kept, f)
		}
		// A capture may miss a frame under load (tcpdump at the sender,
		// other tests running): every frame caught of tcpreplay's must be
		// ours, in order, and few may be missing; tcpreplay's run is
		// captured again (3 attempts) when more are.
		for attempt := 1; ; attempt++ {
			theirs := l.capture(t, append(append([]string{t46, "-i", "va1"}, args...), in)...)[0]
			j, missed := 0, 0
			for i := range theirs {
				for j < len(kept) && !bytes.Equal(theirs[i].data, kept[j].data) {
					j, missed = j+1, missed+1
				}
				if j == len(kept) {
					t.Fatalf("%v: tcpreplay 4.6's frame %d is none of ours, in order", args, i+1)
				}
				j++
			}
			missed += len(kept) - j
			if len(theirs) > 0 && missed <= len(kept)/100 {
				break
			}
			if attempt == 3 {
				t.Fatalf("%v: of our %d frames, %d are not among tcpreplay 4.6's %d", args, len(kept), missed, len(theirs))
			}
			t.Logf("%v: attempt %d: %d of our %d frames not among tcpreplay 4.6's %d as captured; again", args, attempt, missed, len(kept), len(theirs))
		}
		for i := range kept {
			if err := checksumsRight(kept[i].data); err != nil {
				t.Fatalf("%v: frame %d: %v", args, i+1, err)
			}
		}
		if !bytes.Equal(kept[0].data, readStamped(t, in)[0].data) || bytes.Equal(kept[n+10].data, kept[10].data) && isIP(kept[10].data) {
			t.Errorf("%v: the first loop edited, or the second not", args)
		}
		var rep struct {
			SuperPackets int64 `json:"super_packets"`
		}
		data, _ := os.ReadFile(repOut)
		if err := json.Unmarshal(data, &rep); err != nil || rep.SuperPackets == 0 {
			t.Errorf("%v: report %s: %v", args, data, err)
		}
	}
}

// isIP reports an Ethernet frame of IPv4 or IPv6.
func isIP(d []byte) bool {
	p := gopacket.NewPacket(d, layers.LayerTypeEthernet, gopacket.NoCopy)
	return p.NetworkLayer() != nil && (p.Layer(layers.LayerTypeIPv4) != nil || p.Layer(layers.LayerTypeIPv6) != nil)
}

// checksumsRight checks, with gopacket, a frame's IPv4 header checksum and
// its TCP or UDP checksum, where it has them.
func checksumsRight(d []byte) error {
	p := gopacket.NewPacket(d, layers.LayerTypeEthernet, gopacket.Default)
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		want := ip.Checksum
		b := gopacket.NewSerializeBuffer()
		if err := ip.SerializeTo(b, gopacket.SerializeOptions{ComputeChecksums: true}); err == nil && ip.Checksum != want {
			return fmt.Errorf("IPv4 header checksum %#04x, want %#04x", want, ip.Checksum)
		}
	}
	var sum func() (uint16, error)
	if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		tcp.SetNetworkLayerForChecksum(p.NetworkLayer())
		sum = tcp.ComputeChecksum
	} else if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && udp.Checksum != 0 {
		want := udp.Checksum
		udp.SetNetworkLayerForChecksum(p.NetworkLayer())
		b := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(b, gopacket.SerializeOptions{ComputeChecksums: true}, udp, gopacket.Payload(udp.Payload)); err != nil || udp.Checksum != want {
			return fmt.Errorf("UDP checksum %#04x, want %#04x (%v)", want, udp.Checksum, err)
		}
	}
	if sum != nil {
		// Summed with the checksum in place, a right one folds to 0.
		if c, err := sum(); err != nil || c != 0 {
			return fmt.Errorf("transport checksum wrong (%#04x, %v)", c, err)
		}
	}
	return nil
}

// tcpreplay46 is the absolute path of the tcpreplay 4.6 anchor
// (../shared/anchors): the test skips without it, and fails under CI.
func tcpreplay46(t *testing.T) string {
	t.Helper()
	p, _ := filepath.Abs("../../../shared/anchors/tcpreplay-4.6/bin/tcpreplay")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tcpreplay 4.6 missing in CI: %v", err)
		}
		t.Skip("no tcpreplay 4.6")
	}
	return p
}
