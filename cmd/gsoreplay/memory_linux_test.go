package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// verifyMemoryBound is what verify may take, whatever the capture's size.
const verifyMemoryBound = 256 << 20

// TestVerifyMemoryIsBounded: verify of a capture of 300,000 frames (made
// here, 10,000 at a time, so that the test itself stays small) proves every
// frame exact within verifyMemoryBound of peak RSS: it compares as frames
// come, holding what is in flight, not the capture.
func TestVerifyMemoryIsBounded(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	path := filepath.Join(dir, "large.pcap")
	const frames, chunk = 300_000, 10_000
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcaps.NewWriter(f, pcaps.WriterOptions{Format: pcaps.FormatPcap, LinkType: layers.LinkTypeEthernet})
	base := craft.TCPBulk()
	base.Payload = craft.Payload(200, 0)
	for range frames / chunk {
		flow := craft.Flow(base, chunk, nil)
		pkts := craft.Packets(flow)
		for i := range pkts {
			if err := w.Write(&pkts[i], nil); err != nil {
				t.Fatal(err)
			}
		}
		last := flow[chunk-1]
		base.Seq, base.ID = last.Seq+uint32(len(last.Payload)), last.ID+1
		base.Timestamp = last.Timestamp.Add(10 * time.Microsecond)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "verify", "--json", path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	var rep struct {
		Verdict  string `json:"verdict"`
		Expected int    `json:"expected"`
		Exact    int    `json:"exact"`
		Seconds  float64
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	st, _ := os.Stat(path)
	t.Logf("%d frames (%d MB): %s, %d exact, %.2f s, peak RSS %d MiB", frames, st.Size()>>20, rep.Verdict, rep.Exact, rep.Seconds, rss>>20)
	if rep.Verdict != "exact" || rep.Expected != frames || rep.Exact != frames {
		t.Errorf("verdict %s, %d of %d expected frames exact; want all %d", rep.Verdict, rep.Exact, rep.Expected, frames)
	}
	if rss >= verifyMemoryBound {
		t.Errorf("peak RSS %d MiB, bound %d MiB", rss>>20, verifyMemoryBound>>20)
	}
}
