package pcaps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/pcapng"
)

// block is one block as the block reader reads it: its bytes and offset.
type block struct {
	raw []byte
	off int64
}

// blocksOf reads data with pcapng's block reader (the oracle): the blocks
// up to the first error, and that error (nil at a clean end).
func blocksOf(data []byte) ([]block, error) {
	br := pcapng.NewReader(bytes.NewReader(data))
	br.Max = maxBlockNG
	var out []block
	for {
		b, err := br.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, block{bytes.Clone(b.Bytes), br.Offset()})
	}
}

// ngRing reads r with KeepBlocks through a lent ring read in chunks of
// chunk bytes (0: the Reader's own ring), checking, at every reclaim, that
// each record handed out below the bound is still as the oracle has it.
// It returns the records' blocks and offsets, and the Reader's error.
func ngRing(t testing.TB, r *Reader, want []block, chunk int) ([]block, error) {
	r.KeepBlocks()
	var got []block
	held := map[int]block{} // records handed out in the ring, by index
	reclaim := func(before int64) error {
		for i, b := range held {
			if b.off >= before {
				continue
			}
			if i >= len(want) || !bytes.Equal(b.raw, want[i].raw) {
				return fmt.Errorf("record %d at offset %d changed before a reclaim below %d", i+1, b.off, before)
			}
			delete(held, i)
		}
		return nil
	}
	if chunk > 0 && !r.window(make([]byte, 2*chunk+maxBlockNG), reclaim, chunk) {
		t.Fatal("Window refused a pcapng file")
	}
	var p Packet
	for {
		err := r.Next(&p)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		if p.Block == nil {
			t.Fatalf("record %d: no block", len(got)+1)
		}
		b := block{p.Block, p.Offset}
		if chunk > 0 {
			held[len(got)] = b
		} else {
			b.raw = bytes.Clone(b.raw) // the own ring is reused
		}
		got = append(got, b)
	}
}

// TestNgRingAgreesWithBlockReader: every pcapng file other tools wrote,
// and the fixtures, read through the ring (the Reader's own, a lent one
// making many laps, and the same compressed with gzip and with zstd) give
// the blocks pcapng's block reader reads, at the same offsets, in order;
// a record handed out stays unchanged until the reclaim past it.
func TestNgRingAgreesWithBlockReader(t *testing.T) {
	for _, path := range ngFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, werr := blocksOf(data)
		if werr != nil {
			t.Fatalf("%s: block reader: %v", path, werr)
		}
		for _, tc := range []struct {
			name  string
			comp  Compression
			chunk int
		}{{"own ring", Uncompressed, 0}, {"lent ring", Uncompressed, minChunk}, {"gzip", Gzip, 0}, {"zstd, lent ring", Zstd, minChunk}} {
			in := compressed(t, data, tc.comp)
			r, err := NewReader(bytes.NewReader(in), path)
			if err != nil {
				t.Fatalf("%s (%s): %v", path, tc.name, err)
			}
			got, err := ngRing(t, r, want, tc.chunk)
			r.Close()
			if err != nil {
				t.Fatalf("%s (%s): %v", path, tc.name, err)
			}
			if r.Compression() != tc.comp {
				t.Errorf("%s (%s): compression %v", path, tc.name, r.Compression())
			}
			if len(got) != len(want) {
				t.Fatalf("%s (%s): %d records, the block reader %d", filepath.Base(path), tc.name, len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i].raw, want[i].raw) || got[i].off != want[i].off {
					t.Fatalf("%s (%s): record %d: %d bytes at %d, the block reader %d at %d", filepath.Base(path), tc.name, i+1,
						len(got[i].raw), got[i].off, len(want[i].raw), want[i].off)
				}
			}
		}
	}
}

// compressed is data compressed with c.
func compressed(t testing.TB, data []byte, c Compression) []byte {
	var out bytes.Buffer
	w, err := Compress(&out, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestCompressedPcap: a pcap compressed with gzip or zstd reads as the
// plain file's frames, whatever its name; cut short, it is an error naming
// the file, as a plain file cut short.
func TestCompressedPcap(t *testing.T) {
	frames := windowFrames(3000, 7)
	file := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, frames...)
	for _, c := range []Compression{Gzip, Zstd} {
		in := compressed(t, file, c)
		r, err := NewReader(bytes.NewReader(in), "capture")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		var p Packet
		for err = r.Next(&p); err == nil; err = r.Next(&p) {
			if n >= len(frames) || !bytes.Equal(p.Data, frames[n]) || p.Length != len(frames[n]) {
				t.Fatalf("%v: packet %d differs from the plain file's", c, n+1)
			}
			n++
		}
		r.Close()
		if err != io.EOF || n != len(frames) || r.Compression() != c {
			t.Errorf("%v: %d packets, %v, compression %v", c, n, err, r.Compression())
		}
		r, err = NewReader(bytes.NewReader(in[:len(in)*2/3]), "cut.pcap")
		if err != nil {
			t.Fatal(err)
		}
		for err = r.Next(&p); err == nil; err = r.Next(&p) {
		}
		r.Close()
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "cut.pcap") {
			t.Errorf("%v cut: %v, want a truncated or corrupt record naming the file", c, err)
		}
	}
}

// FuzzNgRing: on any input, the Reader's records through a ring that
// makes many laps are the block reader's blocks, in order, up to where
// either stops; the Reader never reads past an error of the block reader.
func FuzzNgRing(f *testing.F) {
	for _, path := range ngFiles(f) {
		if data, err := os.ReadFile(path); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	var ng bytes.Buffer
	w := NewWriter(&ng, WriterOptions{Format: FormatPcapNG})
	w.DeclareInterfaces([]Interface{{LinkType: layers.LinkTypeEthernet}})
	w.Write(&Packet{Data: []byte("0123456789abcdef"), Length: 16, Comment: "c"}, nil)
	w.Flush()
	f.Add(ng.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := blocksOf(data)
		r, err := NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		defer r.Close()
		if r.Format() != FormatPcapNG {
			return
		}
		got, err := ngRing(t, r, want, minChunk)
		if len(got) > len(want) {
			t.Fatalf("%d records, the block reader %d (%v)", len(got), len(want), werr)
		}
		for i := range got {
			if !bytes.Equal(got[i].raw, want[i].raw) || got[i].off != want[i].off {
				t.Fatalf("record %d differs", i+1)
			}
		}
		if err == nil && (werr != nil || len(got) != len(want)) {
			t.Fatalf("read %d records to the end; the block reader %d and %v", len(got), len(want), werr)
		}
	})
}
