package coalesce_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// corpusDir holds real captures nobody on this project wrote (CI has it).
const corpusDir = "../../shared/corpus"

type frameRec struct {
	data   []byte
	ts     time.Time
	length int
	iface  int
	lt     int
}

func readAll(t testing.TB, r *pcaps.Reader) []frameRec {
	t.Helper()
	var out []frameRec
	var p pcaps.Packet
	for {
		err := r.Next(&p)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
		out = append(out, frameRec{append([]byte(nil), p.Data...), p.Timestamp, p.Length, p.Interface, int(p.LinkType)})
	}
}

// roundTrip coalesces a capture to pcapng in memory, restores it and returns
// the original frames, the restored frames and the coalescer's stats.
func roundTrip(t testing.TB, capture []byte, opts coalesce.Options) (orig, back []frameRec, st *coalesce.Stats) {
	t.Helper()
	r, err := pcaps.NewReader(bytes.NewReader(capture), "in")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	orig = readAll(t, r)
	r, _ = pcaps.NewReader(bytes.NewReader(capture), "in")
	var mid bytes.Buffer
	w := pcaps.NewWriter(&mid, pcaps.WriterOptions{Format: pcaps.FormatPcapNG})
	st, err = capfile.Coalesce(r, w, opts, nil)
	if err != nil {
		t.Fatalf("coalesce: %v", err)
	}
	cr, err := pcaps.NewReader(bytes.NewReader(mid.Bytes()), "coalesced")
	if err != nil {
		t.Fatalf("open coalesced: %v", err)
	}
	var out bytes.Buffer
	ow := pcaps.NewWriter(&out, pcaps.WriterOptions{Format: pcaps.FormatPcapNG})
	if _, err := capfile.Restore(cr, ow, nil); err != nil {
		t.Fatalf("segment: %v", err)
	}
	br, err := pcaps.NewReader(bytes.NewReader(out.Bytes()), "restored")
	if err != nil {
		t.Fatalf("open restored: %v", err)
	}
	return orig, readAll(t, br), st
}

func compareFrames(t testing.TB, orig, back []frameRec) {
	t.Helper()
	if len(orig) != len(back) {
		t.Fatalf("%d frames in, %d out", len(orig), len(back))
	}
	for i := range orig {
		a, b := orig[i], back[i]
		if !bytes.Equal(a.data, b.data) {
			t.Fatalf("frame %d: bytes differ (len %d vs %d) at %d", i+1, len(a.data), len(b.data), firstDiff(a.data, b.data))
		}
		if !a.ts.Equal(b.ts) || a.length != b.length || a.iface != b.iface || a.lt != b.lt {
			t.Fatalf("frame %d: metadata differs: %v/%d/%d/%d vs %v/%d/%d/%d", i+1, a.ts, a.length, a.iface, a.lt, b.ts, b.length, b.iface, b.lt)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func corpusFiles(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.pcap*"))
	if len(files) == 0 && os.Getenv("CI") == "true" {
		// testdata alone would pass: the corpus must not go missing unseen.
		t.Fatalf("no captures under %s in CI", corpusDir)
	}
	fix, _ := filepath.Glob("../testdata/*.pcap*")
	files = append(files, fix...)
	if len(files) == 0 {
		t.Skipf("no captures under %s", corpusDir)
	}
	return files
}

// TestRoundTripCorpus: segment(coalesce(x)) == x, frame for frame, for every
// real capture and fixture, in both orders.
func TestRoundTripCorpus(t *testing.T) {
	var merged, total int64
	for _, path := range corpusFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, order := range []coalesce.Order{coalesce.PerFlow, coalesce.Strict} {
			t.Run(filepath.Base(path)+"/"+order.String(), func(t *testing.T) {
				opts := coalesce.DefaultOptions()
				opts.Order = order
				opts.MaxSpan = 0
				orig, back, st := roundTrip(t, data, opts)
				compareFrames(t, orig, back)
				if order == coalesce.PerFlow {
					merged += st.Merged
					total += st.Packets
				}
			})
		}
	}
	t.Logf("per-flow: %d of %d packets inside super-packets", merged, total)
	if merged == 0 {
		t.Errorf("nothing in the corpus merged")
	}
}
