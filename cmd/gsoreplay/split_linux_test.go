package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/internal/testcap"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/replay/verify"
)

// twoLab is two namespaces joined by two veth pairs (va1-vb1, va2-vb2),
// offloads off on the sending side; built with ip and ethtool, as a test
// may (the product never shells out).
type twoLab struct {
	a, b string
	// outgoing captures what leaves va1 and va2 (at their transmit taps)
	// rather than what vb1 and vb2 receive: a sender's bursts can
	// overflow the peer's backlog.
	outgoing bool
}

func newTwoLab(t *testing.T) *twoLab {
	t.Helper()
	l := &twoLab{a: fmt.Sprintf("gsr-2a-%d", os.Getpid()), b: fmt.Sprintf("gsr-2b-%d", os.Getpid())}
	run := func(args ...string) {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	run("ip", "netns", "add", l.a)
	run("ip", "netns", "add", l.b)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", l.a).Run()
		exec.Command("ip", "netns", "del", l.b).Run()
	})
	for _, i := range []string{"1", "2"} {
		run("ip", "-n", l.a, "link", "add", "va"+i, "type", "veth", "peer", "name", "vb"+i, "netns", l.b)
		exec.Command("ip", "netns", "exec", l.a, "ethtool", "-K", "va"+i, "tx", "off", "tso", "off", "gso", "off").Run()
		run("ip", "-n", l.a, "link", "set", "va"+i, "up")
		run("ip", "-n", l.b, "link", "set", "vb"+i, "up")
	}
	for _, ns := range []string{l.a, l.b} {
		run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
	}
	for _, dev := range [][2]string{{l.a, "va1"}, {l.a, "va2"}, {l.b, "vb1"}, {l.b, "vb2"}} {
		waitUp(t, dev[0], dev[1])
	}
	return l
}

// waitUp waits until iface in namespace ns has its carrier: a veth drops
// what it is given before.
func waitUp(t *testing.T, ns, iface string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		out, _ := exec.Command("ip", "-n", ns, "link", "show", "dev", iface).Output()
		if strings.Contains(string(out), "state UP") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never came up: %s", iface, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stamped is a frame and when the peer's tcpdump saw it.
type stamped struct {
	ts   time.Time
	data []byte
}

// readStamped reads the frames of a capture and their timestamps with
// gopacket.
func readStamped(t *testing.T, path string) []stamped {
	t.Helper()
	var out []stamped
	for _, f := range testcap.Stamped(t, path) {
		out = append(out, stamped{f.Timestamp, f.Data})
	}
	return out
}

// startTcpdump starts tcpdump on iface in namespace ns, writing every
// frame whole with nanosecond timestamps into path, and returns once it
// listens; its standard error is kept.
func startTcpdump(t *testing.T, ns, iface, path string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command("ip", append(append([]string{"netns", "exec", ns, "tcpdump", "-i", iface}, args...),
		"-B", "65536", "-s", "0", "--immediate-mode", "--time-stamp-precision=nano", "-w", path)...)
	errb := &bytes.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(errb.String(), "listening") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	return cmd, errb
}

// capture runs send in A while tcpdump records what vb1 and vb2 receive.
func (l *twoLab) capture(t *testing.T, send ...string) (side [2][]stamped) {
	t.Helper()
	dir := t.TempDir()
	var dumps []*exec.Cmd
	var errs [2]*bytes.Buffer
	for i := range 2 {
		ns, iface, dir2 := l.b, fmt.Sprintf("vb%d", i+1), "inout"
		if l.outgoing {
			ns, iface, dir2 = l.a, fmt.Sprintf("va%d", i+1), "out"
		}
		cmd, errb := startTcpdump(t, ns, iface, filepath.Join(dir, fmt.Sprintf("%d.pcap", i)), "-Q", dir2)
		dumps, errs[i] = append(dumps, cmd), errb
	}
	if out, err := exec.Command("ip", append([]string{"netns", "exec", l.a}, send...)...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v %s", send, err, out)
	}
	time.Sleep(300 * time.Millisecond) // the peers' last frames reach tcpdump
	for i, cmd := range dumps {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("tcpdump vb%d: %s", i+1, errs[i])
		}
		side[i] = readStamped(t, filepath.Join(dir, fmt.Sprintf("%d.pcap", i)))
	}
	return side
}

func frameBytes(s []stamped) [][]byte {
	out := make([][]byte, len(s))
	for i := range s {
		out[i] = s[i].data
	}
	return out
}

// TestTwoInterfaces: with a tcpprep cache, each peer receives exactly the
// frames tcpreplay -i A -I B -c CACHE puts on its side, in the same order;
// with the built-in split and two pipelines at top speed, each peer
// receives its side's original frames, and within every connection the two
// peers' capture times give back the capture's order.
func TestTwoInterfaces(t *testing.T) {
	testenv.RequireRoot(t)
	for _, tool := range []string{"tcpdump", "tcpreplay", "tcpprep", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing in CI", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	l := newTwoLab(t)
	bin := filepath.Join(t.TempDir(), "gsoreplay")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	in, err := filepath.Abs(fixture)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "client.cache")
	if out, err := exec.Command("tcpprep", "--auto=client", "--pcap="+in, "--cachefile="+cache).CombinedOutput(); err != nil {
		t.Fatalf("tcpprep: %v %s", err, out)
	}
	want := l.capture(t, "tcpreplay", "-i", "va1", "-I", "va2", "-c", cache, in)
	got := l.capture(t, bin, "replay", "-q", "-i", "va1", "-I", "va2", "-c", cache, in)
	for i := range 2 {
		w, g := frameBytes(want[i]), frameBytes(got[i])
		if len(w) == 0 || len(g) != len(w) {
			t.Fatalf("side %d: %d frames, tcpreplay put %d there", i+1, len(g), len(w))
		}
		for k := range w {
			if !bytes.Equal(w[k], g[k]) {
				t.Fatalf("side %d: frame %d differs from tcpreplay's", i+1, k+1)
			}
		}
	}

	// The built-in split, two pipelines, top speed.
	got = l.capture(t, bin, "replay", "-q", "--threads", "2", "-t", "-i", "va1", "-I", "va2", "--split", "client", in)
	orig := originalFrames(t, in)
	for i := range 2 {
		var w [][]byte
		for _, f := range orig {
			if f.side == i {
				w = append(w, f.data)
			}
		}
		g := frameBytes(got[i])
		sortFrames(w)
		sortFrames(g)
		if len(w) == 0 || len(g) != len(w) {
			t.Fatalf("--split client, side %d: %d frames, want %d", i+1, len(g), len(w))
		}
		for k := range w {
			if !bytes.Equal(w[k], g[k]) {
				t.Fatalf("--split client, side %d: the frames are not the side's originals", i+1)
			}
		}
	}
	// Order within each connection across both peers.
	all := append(append([]stamped(nil), got[0]...), got[1]...)
	sort.SliceStable(all, func(a, b int) bool { return all[a].ts.Before(all[b].ts) })
	byConn := map[string][][]byte{}
	for _, s := range all {
		byConn[connKey(s.data)] = append(byConn[connKey(s.data)], s.data)
	}
	wantConn := map[string][][]byte{}
	for _, f := range orig {
		wantConn[connKey(f.data)] = append(wantConn[connKey(f.data)], f.data)
	}
	for k, w := range wantConn {
		g := byConn[k]
		if len(g) != len(w) {
			t.Fatalf("connection %s: %d frames at the peers, %d in the capture", k, len(g), len(w))
		}
		for i := range w {
			if !bytes.Equal(g[i], w[i]) {
				t.Fatalf("connection %s: frame %d out of the capture's order across the two interfaces", k, i+1)
			}
		}
	}
}

type sided struct {
	data []byte
	side int
}

// originalFrames reads the capture with gopacket and gives each frame the
// side a client/server reading of the traffic says: from the host that
// opens the connections (10.99.0.1, fd00:99::1) primary, the rest
// secondary (ARP too, as tcpprep sends frames that are not IP).
func originalFrames(t *testing.T, in string) []sided {
	var out []sided
	for _, d := range testcap.Frames(t, in) {
		out = append(out, sided{d, clientSide(d)})
	}
	return out
}

// clientSide is 0 for a frame from the client (10.99.0.1, fd00:99::1), 1
// for any other, by gopacket's reading.
func clientSide(d []byte) int {
	p := gopacket.NewPacket(d, layers.LayerTypeEthernet, gopacket.NoCopy)
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && ip.SrcIP.String() == "10.99.0.1" {
		return 0
	}
	if ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok && ip.SrcIP.String() == "fd00:99::1" {
		return 0
	}
	return 1
}

// connKey names a frame's connection, both directions alike (gopacket's
// symmetric flow hash), or "other".
func connKey(d []byte) string {
	p := gopacket.NewPacket(d, layers.LayerTypeEthernet, gopacket.NoCopy)
	if p.NetworkLayer() == nil || p.TransportLayer() == nil {
		return "other"
	}
	return fmt.Sprintf("%x/%x", p.NetworkLayer().NetworkFlow().FastHash(), p.TransportLayer().TransportFlow().FastHash())
}

func sortFrames(f [][]byte) {
	sort.Slice(f, func(a, b int) bool { return bytes.Compare(f[a], f[b]) < 0 })
}

// TestVerifyTwoInterfaces: verify with a split builds the lab's second pair,
// checks each side and the order across both, and calls every frame exact;
// with threads, with a tcpprep cache and with the built-in splits.
func TestVerifyTwoInterfaces(t *testing.T) {
	testenv.RequireRoot(t)
	in, _ := filepath.Abs(fixture)
	cache := filepath.Join(t.TempDir(), "client.cache")
	if _, err := exec.LookPath("tcpprep"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tcpprep missing in CI")
		}
		t.Skip("tcpprep not installed")
	}
	if out, err := exec.Command("tcpprep", "--auto=client", "--pcap="+in, "--cachefile="+cache).CombinedOutput(); err != nil {
		t.Fatalf("tcpprep: %v %s", err, out)
	}
	for _, args := range [][]string{
		{"--cachefile", cache},
		{"--split", "client", "--threads", "2"},
		{"--split", "cidr:10.99.0.2/32", "--enet-dmac", "02:00:00:00:00:01,02:00:00:00:00:02"},
		{"--split", "port:5201"},
	} {
		code, out, stderr := gsoreplay(t, nil, append(append([]string{"verify", "--json"}, args...), in)...)
		var rep verify.Report
		if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
			t.Fatalf("%v: exit %d, %v: %s%s", args, code, err, out, stderr)
		}
		if rep.Verdict != verify.VerdictExact || !rep.TwoInterfaces || rep.Exact != rep.Expected || rep.SuperPackets == 0 {
			t.Errorf("%v: %+v", args, rep)
		}
	}
}
