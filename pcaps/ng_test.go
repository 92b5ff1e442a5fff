package pcaps

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

func ngFiles(t testing.TB) []string {
	files, _ := filepath.Glob("../../shared/corpus/*.pcapng")
	if len(files) == 0 && os.Getenv("CI") == "true" {
		t.Fatal("no corpus in CI")
	}
	fix, _ := filepath.Glob("../testdata/*.pcapng")
	return append(files, fix...)
}

// mirror reads data with KeepBlocks and writes every record to a
// mirroring Writer; encode makes the Writer build each packet block that
// it can from the packet's fields rather than copy it.
func mirror(t testing.TB, data []byte, encode bool) []byte {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), "in.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	r.KeepBlocks()
	var out bytes.Buffer
	w := NewWriter(&out, WriterOptions{Format: FormatPcapNG})
	var keep []byte
	err = r.Each(func(p *Packet) error {
		if encode && !p.IsBlock() && !p.Verbatim {
			p.Block = nil
		}
		// Kept past Next as a pipeline keeps it.
		keep = append(keep[:0], make([]byte, p.Size())...)
		p.CopyInto(keep)
		return w.Write(p, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestMirrorIsTheFile: every pcapng file other tools wrote comes back byte
// for byte through a Reader with KeepBlocks and a mirroring Writer, with
// packet blocks copied or built anew from Data, Timestamp, Length,
// Interface and Options.
func TestMirrorIsTheFile(t *testing.T) {
	files := ngFiles(t)
	if len(files) < 4 {
		t.Fatalf("%d pcapng files", len(files))
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, encode := range []bool{false, true} {
			if got := mirror(t, data, encode); !bytes.Equal(got, data) {
				t.Errorf("%s (encode %v): %d bytes back of %d", filepath.Base(path), encode, len(got), len(data))
			}
		}
	}
}

// TestNgPacketsAgreeWithPcapgo: without KeepBlocks the Reader gives the
// packets pcapgo reads, with their first comment.
func TestNgPacketsAgreeWithPcapgo(t *testing.T) {
	for _, path := range ngFiles(t) {
		data, _ := os.ReadFile(path)
		ng, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(bytes.NewReader(data), path)
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for n := 1; ; n++ {
			want, ci, opts, werr := ng.ReadPacketDataWithOptions()
			err := r.Next(&p)
			if werr == io.EOF || err == io.EOF {
				if werr != err {
					t.Fatalf("%s: packet %d: end %v, pcapgo %v", path, n, err, werr)
				}
				break
			}
			if err != nil || werr != nil {
				t.Fatalf("%s: packet %d: %v, pcapgo %v", path, n, err, werr)
			}
			comment := ""
			if len(opts.Comments) > 0 {
				comment = opts.Comments[0]
			}
			ts := ci.Timestamp
			if ts.IsZero() {
				ts = p.Timestamp // a Simple Packet Block's: none
			}
			if !bytes.Equal(p.Data, want) || p.Length != ci.Length || !p.Timestamp.Equal(ts) || p.Comment != comment ||
				p.LinkType != r.Interfaces()[p.Interface].LinkType {
				t.Fatalf("%s: packet %d: %d bytes of %d at %v %q, pcapgo %d of %d at %v %q", path, n,
					len(p.Data), p.Length, p.Timestamp, p.Comment, len(want), ci.Length, ci.Timestamp, comment)
			}
		}
	}
}

func TestCopyInto(t *testing.T) {
	block := []byte("HEADdataPADoptsTAIL")
	p := Packet{Block: block, Data: block[4:8], Options: block[11:15]}
	buf := make([]byte, p.Size())
	p.CopyInto(buf)
	block[5] = 'X' // the reader's buffer, reused
	if string(p.Data) != "data" || string(p.Options) != "opts" || string(p.Block) != "HEADdataPADoptsTAIL" || &p.Block[0] != &buf[0] {
		t.Fatalf("copy: %q %q %q", p.Data, p.Options, p.Block)
	}
	// Data copied away from its block: the stale block is not kept.
	q := Packet{Block: block, Data: []byte("else"), Options: block[11:15]}
	buf = make([]byte, q.Size())
	q.CopyInto(buf)
	if q.Block != nil || string(q.Data) != "else" || string(q.Options) != "opts" || len(buf) != 8 {
		t.Fatalf("stale block: %q %q %q", q.Data, q.Options, q.Block)
	}
}

// BenchmarkReaderPcapng reads a pcapng fixture from memory (160 packets
// with options): allocations are per file, not per block.
func BenchmarkReaderPcapng(b *testing.B) {
	data, err := os.ReadFile("../testdata/ng-direction.pcapng")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var p Packet
	n := 0
	for range b.N {
		r, err := NewReader(bytes.NewReader(data), "bench")
		if err != nil {
			b.Fatal(err)
		}
		n = 0
		for r.Next(&p) == nil {
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// TestNgErrors: a cut or corrupt pcapng file gets one line naming the
// file, the block and its byte offset, in the class callers test for.
func TestNgErrors(t *testing.T) {
	data, err := os.ReadFile("../testdata/ng-tls.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), data...)
	bad[len(bad)-1] ^= 0xFF // the last block's trailing length
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"cut.pcapng", data[:5000], ErrTruncated},
		{"bad.pcapng", bad, ErrCorrupt},
		{"header.pcapng", data[:20], ErrTruncated},
	} {
		var err error
		r, err := NewReader(bytes.NewReader(tc.data), tc.name)
		if err == nil {
			err = r.Each(func(*Packet) error { return nil })
		}
		if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), tc.name+": ") ||
			!strings.Contains(err.Error(), "byte offset") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %v with the file and the byte offset on one line", tc.name, err, tc.want)
		}
	}
}
