package pcapng

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// pcapngFiles are captures written by other tools: the corpus (CI has it)
// and the fixtures Wireshark's tools made.
func pcapngFiles(t testing.TB) []string {
	files, _ := filepath.Glob("../../../shared/corpus/*.pcapng")
	if len(files) == 0 && os.Getenv("CI") == "true" {
		t.Fatal("no corpus in CI")
	}
	fix, _ := filepath.Glob("../../testdata/*.pcapng")
	if len(fix) == 0 {
		t.Fatal("no pcapng fixtures in testdata")
	}
	return append(files, fix...)
}

func readBlocks(t testing.TB, data []byte) []Block {
	t.Helper()
	r := NewReader(bytes.NewReader(data))
	var out []Block
	for {
		b, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("block %d: %v", len(out)+1, err)
		}
		out = append(out, Block{Bytes: append([]byte(nil), b.Bytes...), Order: b.Order})
	}
}

// TestReaderAgreesWithPcapgo: the blocks tile the file exactly, and the
// packets they hold are pcapgo's: bytes, lengths, interface, comments.
func TestReaderAgreesWithPcapgo(t *testing.T) {
	for _, path := range pcapngFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			blocks := readBlocks(t, data)
			var joined []byte
			for _, b := range blocks {
				joined = append(joined, b.Bytes...)
			}
			if !bytes.Equal(joined, data) {
				t.Fatalf("blocks do not tile the file: %d of %d bytes", len(joined), len(data))
			}
			ng, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
			if err != nil {
				t.Fatal(err)
			}
			var snaps []uint32
			n := 0
			for _, b := range blocks {
				switch {
				case b.Type() == TypeSectionHeader:
					snaps = snaps[:0]
				case b.Type() == TypeInterfaceDescription:
					snaps = append(snaps, InterfaceDescription{b}.SnapLen())
				case b.IsPacket():
					n++
					var snap uint32
					if b.Type() == TypeSimplePacket {
						snap = snaps[0]
					}
					p, err := b.Packet(snap)
					if err != nil {
						t.Fatalf("packet %d: %v", n, err)
					}
					want, ci, opts, err := ng.ReadPacketDataWithOptions()
					if err != nil {
						t.Fatalf("pcapgo, packet %d: %v", n, err)
					}
					if !bytes.Equal(p.Data, want) || int(p.Length) != ci.Length || int(p.Interface) != ci.InterfaceIndex {
						t.Fatalf("packet %d: %d bytes of %d on %d, pcapgo %d of %d on %d", n, len(p.Data), p.Length, p.Interface, len(want), ci.Length, ci.InterfaceIndex)
					}
					var comments []string
					p.Options.Each(func(code uint16, v []byte) error {
						if code == OptComment {
							comments = append(comments, string(v))
						}
						return nil
					})
					if len(comments) != len(opts.Comments) {
						t.Fatalf("packet %d: comments %q, pcapgo %q", n, comments, opts.Comments)
					}
					for i := range comments {
						if comments[i] != opts.Comments[i] {
							t.Fatalf("packet %d: comments %q, pcapgo %q", n, comments, opts.Comments)
						}
					}
				}
			}
			if _, _, err := ng.ReadPacketData(); err != io.EOF {
				t.Fatalf("pcapgo reads more than %d packets (%v)", n, err)
			}
		})
	}
}

// TestInsertRemove: an option put before the first and taken away again
// gives the block back byte for byte; pcapgo reads the inserted comment.
func TestInsertRemove(t *testing.T) {
	for _, path := range pcapngFiles(t) {
		data, _ := os.ReadFile(path)
		var out []byte
		for i, b := range readBlocks(t, data) {
			if !hasOptions(b.Type()) {
				out = append(out, b.Bytes...)
				continue
			}
			in, err := Insert(nil, b, OptComment, []byte("inserted"))
			if err != nil {
				t.Fatalf("%s: block %d: %v", path, i+1, err)
			}
			back, err := Remove(nil, Block{Bytes: in, Order: b.Order})
			if err != nil || !bytes.Equal(back, b.Bytes) {
				t.Fatalf("%s: block %d: remove(insert(b)) differs (%v)", path, i+1, err)
			}
			out = append(out, in...)
		}
		orig, _ := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		ng, err := pcapgo.NewNgReader(bytes.NewReader(out), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			t.Fatalf("%s: pcapgo refuses the file with insertions: %v", path, err)
		}
		// pcapgo keeps a section's last comment: ours shows where it had none.
		if c := ng.SectionInfo().Comment; orig.SectionInfo().Comment == "" && c != "inserted" {
			t.Fatalf("%s: section comment %q", path, c)
		}
		for {
			_, _, opts, err := ng.ReadPacketDataWithOptions()
			if err != nil {
				break
			}
			// Simple Packet Blocks have no options to insert into.
			if len(opts.Comments) > 0 && opts.Comments[0] != "inserted" {
				t.Fatalf("%s: first packet comment %q", path, opts.Comments[0])
			}
		}
	}
}

// block frames body as one block of type typ in little endian.
func block(typ uint32, body []byte) []byte {
	n := 12 + len(body)
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

func section() []byte {
	body := binary.LittleEndian.AppendUint32(nil, ByteOrderMagic)
	body = append(body, 1, 0, 0, 0)
	body = binary.LittleEndian.AppendUint64(body, ^uint64(0))
	return block(TypeSectionHeader, body)
}

func TestReaderErrors(t *testing.T) {
	shb := section()
	idb := block(TypeInterfaceDescription, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	badTrail := append([]byte(nil), idb...)
	badTrail[len(badTrail)-1] = 9
	huge := append([]byte(nil), idb...)
	binary.LittleEndian.PutUint32(huge[4:], 1<<30) // lying length, file ends
	odd := append([]byte(nil), idb...)
	binary.LittleEndian.PutUint32(odd[4:], 21)
	badBOM := append([]byte(nil), shb...)
	badBOM[8] = 0
	v2 := append([]byte(nil), shb...)
	v2[12] = 2
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"no section", idb, ErrNoSection},
		{"bad byte order", badBOM, ErrByteOrder},
		{"version 2", v2, ErrBadVersion},
		{"cut header", append(append([]byte(nil), shb...), idb[:6]...), ErrTruncated},
		{"cut block", append(append([]byte(nil), shb...), idb[:14]...), ErrTruncated},
		{"trailing length", append(append([]byte(nil), shb...), badTrail...), ErrLength},
		{"length not aligned", append(append([]byte(nil), shb...), odd...), ErrLength},
		{"lying length", append(append([]byte(nil), shb...), huge...), ErrTooLong},
	} {
		r := NewReader(bytes.NewReader(tc.data))
		var err error
		for err == nil {
			_, err = r.Next()
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A length within the bound but beyond the file grows the buffer only
	// as bytes come.
	lying := append([]byte(nil), idb...)
	binary.LittleEndian.PutUint32(lying[4:], 48<<20)
	r := NewReader(bytes.NewReader(append(append([]byte(nil), shb...), lying...)))
	r.Next()
	if _, err := r.Next(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("lying length: %v", err)
	}
	if cap(r.buf) > 4<<20 {
		t.Fatalf("buffer grew to %d bytes for a file of %d", cap(r.buf), len(shb)+len(lying))
	}
}

func TestResolution(t *testing.T) {
	for _, tc := range []struct {
		res   Resolution
		ts    uint64
		ns    int64
		exact bool
	}{
		{Resolution{Tsresol: 6}, 1_700_000_000_123_456, 1_700_000_000_123_456_000, true},
		{Resolution{Tsresol: 9}, 1_700_000_000_123_456_789, 1_700_000_000_123_456_789, true},
		{Resolution{Tsresol: 3}, 1_700_000_000_123, 1_700_000_000_123_000_000, true},
		{Resolution{Tsresol: 6, Tsoffset: 100}, 5, 100_000_005_000, true},
		{Resolution{Tsresol: 12}, 1_000_000_000_001_000, 1_000_000_000_001, true},
		{Resolution{Tsresol: 12}, 1_000_000_000_001_001, 1_000_000_000_001, false}, // below a nanosecond
		{Resolution{Tsresol: 0x80 | 10}, 3 << 10, 3_000_000_000, true},             // 2^-10 s
		{Resolution{Tsresol: 0x80 | 10}, 1, 976_562, true},                         // 1/1024 s, floor
		{Resolution{Tsresol: 0x80 | 32}, 1, 0, false},                              // finer than 1 ns
		{Resolution{Tsresol: 9}, 1 << 63, 0, false},                                // beyond int64 ns
	} {
		ns, exact := tc.res.Nanoseconds(tc.ts)
		if exact != tc.exact || exact && ns != tc.ns {
			t.Errorf("%+v %d: %d ns exact %v, want %d %v", tc.res, tc.ts, ns, exact, tc.ns, tc.exact)
		}
		if exact {
			if back, ok := tc.res.Units(ns); !ok || back != tc.ts {
				t.Errorf("%+v: Units(%d) = %d %v, want %d", tc.res, ns, back, ok, tc.ts)
			}
		}
	}
}

// FuzzReader: any bytes; blocks read tile a prefix of the input, and every
// view of them reads within bounds.
func FuzzReader(f *testing.F) {
	for _, path := range pcapngFiles(f) {
		if data, err := os.ReadFile(path); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.Max = 1 << 20
		at := 0
		for {
			b, err := r.Next()
			if err != nil {
				break
			}
			if !bytes.Equal(b.Bytes, data[at:at+len(b.Bytes)]) || int64(at) != r.Offset() {
				t.Fatalf("block at %d is not the input's bytes there", at)
			}
			at += len(b.Bytes)
			if o, err := b.Options(); err == nil {
				o.Each(func(uint16, []byte) error { return nil })
				o.FirstLen()
			}
			if b.IsPacket() {
				b.Packet(64)
			}
			if b.Type() == TypeInterfaceDescription {
				ResolutionOf(InterfaceDescription{b}).Nanoseconds(uint64(at))
			}
			if in, err := Insert(nil, b, OptComment, []byte("x")); err == nil {
				if back, err := Remove(nil, Block{Bytes: in, Order: b.Order}); err != nil || !bytes.Equal(back, b.Bytes) {
					t.Fatalf("remove(insert(b)) differs at %d (%v)", at, err)
				}
			}
		}
	})
}
