package coalesce_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/internal/testcap"
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

// fileRoundTrip is what "gsoreplay coalesce" then "gsoreplay segment" do:
// the original format, resolution and snap length from the coalesced
// file's section comment.
func fileRoundTrip(t testing.TB, capture []byte, opts coalesce.Options) (mid, back []byte, st *coalesce.Stats) {
	t.Helper()
	r, err := pcaps.NewReader(bytes.NewReader(capture), "in")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var m bytes.Buffer
	w := pcaps.NewWriter(&m, pcaps.WriterOptions{Format: pcaps.FormatPcapNG, Comment: capfile.OriginOf(r).String()})
	if st, err = capfile.Coalesce(r, w, opts, nil); err != nil {
		t.Fatalf("coalesce: %v", err)
	}
	cr, err := pcaps.NewReader(bytes.NewReader(m.Bytes()), "coalesced")
	if err != nil {
		t.Fatalf("open coalesced: %v", err)
	}
	origin, ok := capfile.ParseOrigin(cr.SectionComment())
	if !ok {
		t.Fatalf("coalesced file has no origin: %q", cr.SectionComment())
	}
	var b bytes.Buffer
	bw := pcaps.NewWriter(&b, pcaps.WriterOptions{Format: origin.Format, Nanosecond: origin.Nanosecond, SnapLen: origin.SnapLen})
	if _, err := capfile.Restore(cr, bw, nil); err != nil {
		t.Fatalf("segment: %v", err)
	}
	return m.Bytes(), b.Bytes(), st
}

// TestRoundTripIsTheFile: segment(coalesce(x)) is x byte for byte, for
// every real capture and fixture, pcap and pcapng, in both orders; the only
// exception, as the pcapng specification requires, is the custom blocks of
// the do-not-copy type, which are dropped and counted.
func TestRoundTripIsTheFile(t *testing.T) {
	var ng, merged int
	for _, path := range corpusFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Without its do-not-copy custom blocks, cut from the framing alone.
		want, dropped := testcap.WithoutBlocks(data, 0x40000BAD)
		for _, order := range []coalesce.Order{coalesce.PerFlow, coalesce.Strict} {
			t.Run(filepath.Base(path)+"/"+order.String(), func(t *testing.T) {
				opts := coalesce.DefaultOptions()
				opts.Order = order
				_, back, st := fileRoundTrip(t, data, opts)
				if !bytes.Equal(back, want) {
					t.Fatalf("%d bytes back, want %d (of %d), first difference at %d", len(back), len(want), len(data), firstDiff(back, want))
				}
				if st.NoCopyDropped != int64(dropped) {
					t.Fatalf("%d do-not-copy blocks dropped, the file has %d", st.NoCopyDropped, dropped)
				}
				if strings.HasSuffix(path, ".pcapng") && order == coalesce.PerFlow {
					ng++
					if st.SuperPackets > 0 {
						merged++
					}
				}
			})
		}
	}
	if ng < 5 || merged < 3 {
		t.Fatalf("%d pcapng files, %d with super-packets: the test would prove little", ng, merged)
	}
}

// TestRoundTripBigTCP: with super-packets up to 256 KiB (BIG TCP: IPv4
// total length and IPv6 payload length 0, with and without the IPv6 jumbo
// option), segment(coalesce(x)) is still
// x byte for byte for every real capture and fixture, and some of them do
// merge past 64 KiB.
func TestRoundTripBigTCP(t *testing.T) {
	files := corpusFiles(t)
	fixtures, _ := filepath.Glob("../testdata/*.pcap*")
	var big int
	for _, path := range append(files, fixtures...) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := testcap.WithoutBlocks(data, 0x40000BAD)
		for _, jumbo := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/jumbo=%v", filepath.Base(path), jumbo), func(t *testing.T) {
				opts := coalesce.DefaultOptions()
				opts.MaxBytes, opts.MaxSegments, opts.MaxSpan, opts.IPv6Jumbo = 262144, coalesce.MaxSegs, 0, jumbo
				mid, back, _ := fileRoundTrip(t, data, opts)
				if !bytes.Equal(back, want) {
					t.Fatalf("%d bytes back, want %d, first difference at %d", len(back), len(want), firstDiff(back, want))
				}
				r, err := pcaps.NewReader(bytes.NewReader(mid), "coalesced")
				if err != nil {
					t.Fatal(err)
				}
				err = r.Each(func(p *pcaps.Packet) error {
					if len(p.Data) > 262144+256 {
						t.Errorf("record %d: %d bytes, above --max-bytes", r.Count(), len(p.Data))
					}
					if len(p.Data) > 0xffff {
						big++
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	t.Logf("%d super-packets above 64 KiB", big)
	if big == 0 {
		t.Fatalf("no super-packet above 64 KiB: the test would prove little")
	}
}
