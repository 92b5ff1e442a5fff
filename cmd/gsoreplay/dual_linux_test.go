package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
)

// TestDualFile: the kernel traffic split by gopacket into the client's
// frames (a pcap) and the server's (a pcapng): replay --dualfile puts each
// file's frames whole and in order on its interface, streaming and with
// -K, each connection in the capture's order across the two, and the
// frames tcpreplay 4.6 --dualfile puts there are these, in
// the same order.
func TestDualFile(t *testing.T) {
	testenv.RequireRoot(t, "ip", "ethtool", "tcpdump")
	t46 := tcpreplay46(t)
	in, _ := filepath.Abs(fixture)
	dir := t.TempDir()
	files := [2]string{filepath.Join(dir, "client.pcap"), filepath.Join(dir, "server.pcapng")}
	var want [2][][]byte
	fa, err := os.Create(files[0])
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Create(files[1])
	if err != nil {
		t.Fatal(err)
	}
	wa := pcapgo.NewWriterNanos(fa)
	wa.WriteFileHeader(262144, layers.LinkTypeEthernet)
	wb, err := pcapgo.NewNgWriter(fb, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(src)
	if err != nil {
		t.Fatal(err)
	}
	for {
		d, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		side := clientSide(d)
		want[side] = append(want[side], d)
		if side == 0 {
			wa.WritePacket(ci, d)
		} else {
			wb.WritePacket(ci, d)
		}
	}
	src.Close()
	wb.Flush()
	fa.Close()
	fb.Close()
	if len(want[0]) == 0 || len(want[1]) == 0 {
		t.Fatalf("a side is empty: %d and %d frames", len(want[0]), len(want[1]))
	}

	l := newTwoLab(t)
	l.outgoing = true // as they leave: a busy peer's backlog may drop some
	bin := buildBinary(t, t.TempDir())
	// One pipeline keeps the global order, as tcpreplay does (-K would
	// take one per CPU). Ours must put each file whole on its interface,
	// in order (a capture that missed a frame while other tests load the
	// machine is taken again, 3 attempts). tcpreplay 4.6's TX ring loses
	// a few frames here (1 to 4 of 704 idle, its report counting them
	// sent): every frame of its that was caught must be ours, in order.
	for _, k := range [][]string{nil, {"-K"}} {
		var ours [2][]stamped
		for attempt := 1; ; attempt++ {
			ours = l.capture(t, append(append([]string{bin, "replay", "-q", "--threads", "1", "-i", "va1", "-I", "va2", "--dualfile"}, k...), files[0], files[1])...)
			if len(ours[0]) == len(want[0]) && len(ours[1]) == len(want[1]) {
				break
			}
			if attempt == 3 {
				t.Fatalf("%v: %d and %d frames, the files hold %d and %d", k, len(ours[0]), len(ours[1]), len(want[0]), len(want[1]))
			}
		}
		// Across the interfaces: within every connection, the capture
		// times give back the original order (the merge by timestamp).
		all := append(append([]stamped(nil), ours[0]...), ours[1]...)
		sort.SliceStable(all, func(a, b int) bool { return all[a].ts.Before(all[b].ts) })
		byConn := map[string][][]byte{}
		for _, f := range all {
			byConn[connKey(f.data)] = append(byConn[connKey(f.data)], f.data)
		}
		for _, f := range originalFrames(t, in) {
			c := connKey(f.data)
			if len(byConn[c]) == 0 || !bytes.Equal(byConn[c][0], f.data) {
				t.Fatalf("%v: connection %s out of the capture's order across the two interfaces", k, c)
			}
			byConn[c] = byConn[c][1:]
		}
		for i := range 2 {
			for n, g := range frameBytes(ours[i]) {
				if !bytes.Equal(g, want[i][n]) {
					t.Fatalf("%v side %d: frame %d is not the file's", k, i+1, n+1)
				}
			}
		}
		for attempt := 1; ; attempt++ {
			theirs := l.capture(t, append(append([]string{t46, "-i", "va1", "-I", "va2", "--dualfile"}, k...), files[0], files[1])...)
			missed := 0
			for i := range 2 {
				g, j := frameBytes(ours[i]), 0
				for n, w := range frameBytes(theirs[i]) {
					for j < len(g) && !bytes.Equal(w, g[j]) {
						j++
					}
					if j == len(g) {
						t.Fatalf("%v side %d: tcpreplay 4.6's frame %d is none of ours, in order", k, i+1, n+1)
					}
					j++
				}
				missed += len(g) - len(theirs[i])
			}
			total := len(want[0]) + len(want[1])
			if missed <= total/100 {
				break
			}
			// Under load its TX ring loses more (2% seen in CI): its run is
			// taken again, and 5% is the most the last attempt may lose.
			if attempt == 3 {
				if missed > total/20 {
					t.Errorf("%v: tcpreplay 4.6 put %d of the %d frames", k, total-missed, total)
				}
				break
			}
			t.Logf("%v: attempt %d: tcpreplay 4.6 put %d of the %d frames; again", k, attempt, total-missed, total)
		}
	}
	out, err := exec.Command(bin, "replay", "-i", "lo", "--dualfile", files[0]).CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("two captures")) {
		t.Errorf("--dualfile with one capture: %v %s", err, out)
	}
}
