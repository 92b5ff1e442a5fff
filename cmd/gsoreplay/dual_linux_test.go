package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
)

// TestDualFile: the kernel traffic split by gopacket into the client's
// frames (a pcap) and the server's (a pcapng): replay --dualfile puts on
// each interface exactly the frames tcpreplay 4.6 --dualfile puts there,
// in the same order, streaming and with -K, and each peer gets its file's
// frames whole.
func TestDualFile(t *testing.T) {
	testenv.RequireRoot(t, "ip", "ethtool", "tcpdump")
	t46 := "../../../shared/anchors/tcpreplay-4.6/bin/tcpreplay"
	if _, err := os.Stat(t46); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tcpreplay 4.6 missing in CI: %v", err)
		}
		t.Skip("no tcpreplay 4.6")
	}
	t46, _ = filepath.Abs(t46)
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
	bin := buildBinary(t, t.TempDir())
	// One pipeline keeps the global order, as tcpreplay does (-K would
	// take one per CPU).
	for _, k := range [][]string{nil, {"-K"}} {
		theirs := l.capture(t, append(append([]string{t46, "-i", "va1", "-I", "va2", "--dualfile"}, k...), files[0], files[1])...)
		ours := l.capture(t, append(append([]string{bin, "replay", "-q", "--threads", "1", "-i", "va1", "-I", "va2", "--dualfile"}, k...), files[0], files[1])...)
		for i := range 2 {
			w, g := frameBytes(theirs[i]), frameBytes(ours[i])
			if len(w) != len(want[i]) {
				t.Fatalf("%v side %d: tcpreplay 4.6 put %d frames, the file holds %d", k, i+1, len(w), len(want[i]))
			}
			if len(g) != len(w) {
				t.Fatalf("%v side %d: %d frames, tcpreplay 4.6 put %d", k, i+1, len(g), len(w))
			}
			for n := range w {
				if !bytes.Equal(w[n], g[n]) || !bytes.Equal(g[n], want[i][n]) {
					t.Fatalf("%v side %d: frame %d differs from tcpreplay's or the file's", k, i+1, n+1)
				}
			}
		}
	}
	out, err := exec.Command(bin, "replay", "-i", "lo", "--dualfile", files[0]).CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("two captures")) {
		t.Errorf("--dualfile with one capture: %v %s", err, out)
	}
}
