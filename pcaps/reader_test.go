package pcaps

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// pcapFile builds a pcap by hand: byte order, magic and records chosen by the
// test, so the reader is checked against the format, not against our writer.
func pcapFile(order binary.ByteOrder, nano bool, snaplen uint32, lt layers.LinkType, frames ...[]byte) []byte {
	var b bytes.Buffer
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	hdr := make([]byte, 24)
	order.PutUint32(hdr[0:], magic)
	order.PutUint16(hdr[4:], 2)
	order.PutUint16(hdr[6:], 4)
	order.PutUint32(hdr[16:], snaplen)
	order.PutUint32(hdr[20:], uint32(lt))
	b.Write(hdr)
	for i, f := range frames {
		rec := make([]byte, 16)
		order.PutUint32(rec[0:], uint32(1700000000+i))
		order.PutUint32(rec[4:], 123456)
		order.PutUint32(rec[8:], uint32(len(f)))
		order.PutUint32(rec[12:], uint32(len(f)))
		b.Write(rec)
		b.Write(f)
	}
	return b.Bytes()
}

func readAll(t *testing.T, data []byte) ([]Packet, *Reader, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), "test.pcap")
	if err != nil {
		return nil, nil, err
	}
	var out []Packet
	for {
		var p Packet
		err := r.Next(&p)
		if err == io.EOF {
			return out, r, nil
		}
		if err != nil {
			return out, r, err
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
}

func TestPcapVariants(t *testing.T) {
	big := bytes.Repeat([]byte{0xab}, 80000) // a BIG TCP frame above the snap length
	for _, tc := range []struct {
		name  string
		order binary.ByteOrder
		nano  bool
		ts    time.Duration
	}{
		{"little endian µs", binary.LittleEndian, false, 123456 * time.Microsecond},
		{"big endian µs", binary.BigEndian, false, 123456 * time.Microsecond},
		{"little endian ns", binary.LittleEndian, true, 123456},
		{"big endian ns", binary.BigEndian, true, 123456},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := pcapFile(tc.order, tc.nano, 1514, layers.LinkTypeEthernet, []byte("frame-one-xxxx"), big)
			pk, r, err := readAll(t, file)
			if err != nil {
				t.Fatal(err)
			}
			if len(pk) != 2 || string(pk[0].Data) != "frame-one-xxxx" || len(pk[1].Data) != len(big) {
				t.Fatalf("got %d packets", len(pk))
			}
			if want := time.Unix(1700000000, 0).Add(tc.ts); !pk[0].Timestamp.Equal(want) {
				t.Errorf("timestamp %v, want %v", pk[0].Timestamp, want)
			}
			if r.Snaplen() != 1514 || r.Format() != FormatPcap || pk[1].LinkType != layers.LinkTypeEthernet {
				t.Errorf("snaplen %d format %v", r.Snaplen(), r.Format())
			}
		})
	}
}

func TestGzipPcap(t *testing.T) {
	var z bytes.Buffer
	gw := gzip.NewWriter(&z)
	gw.Write(pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeRaw, []byte{0x45, 0, 0, 20}))
	gw.Close()
	pk, _, err := readAll(t, z.Bytes())
	if err != nil || len(pk) != 1 || pk[0].LinkType != layers.LinkTypeRaw {
		t.Fatalf("gzip pcap: %d packets, %v", len(pk), err)
	}
}

// TestBadInput: every malformed file gives an error naming the file and the
// place, of a class errors.Is can test, never a panic or a huge allocation.
func TestBadInput(t *testing.T) {
	good := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, []byte("0123456789abcdef"), []byte("second"))
	huge := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(huge[24+8:], 0xfffffff0) // caplen 4 GiB
	binary.LittleEndian.PutUint32(huge[24+12:], 0xfffffff0)
	testBadInput(t, []badInput{
		{"empty", nil, ErrNotCapture, "empty file"},
		{"short", []byte{0xd4, 0xc3}, ErrNotCapture, "too short"},
		{"text", []byte("hello world, not a capture"), ErrNotCapture, "magic"},
		{"header cut", good[:20], ErrTruncated, "file header"},
		{"record cut", good[:len(good)-3], ErrTruncated, "packet 2 (byte offset 56)"},
		{"bogus length", huge, ErrCorrupt, "packet 1 (byte offset 24)"},
	})
}

// badInput is a malformed file and the error it must give: its class and
// the place its message names (besides the file, "test.pcap").
type badInput struct {
	name  string
	data  []byte
	class error
	where string
}

func testBadInput(t *testing.T, cases []badInput) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, tc.data)
			if !errors.Is(err, tc.class) {
				t.Fatalf("err %v, want %v", err, tc.class)
			}
			if !strings.Contains(err.Error(), "test.pcap") || !strings.Contains(err.Error(), tc.where) {
				t.Errorf("error %q does not name the file and %q", err, tc.where)
			}
		})
	}
}

// TestWriterRoundTrip: pcap written back from what was read is the same file,
// byte for byte; pcapng keeps interfaces, link types, timestamps and comments.
func TestWriterRoundTrip(t *testing.T) {
	file := pcapFile(binary.LittleEndian, false, 262144, layers.LinkTypeEthernet, []byte("aaaaaaaaaaaaaa"), []byte("bbbbbbbbbbbbbbbb"))
	pk, r, err := readAll(t, file)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := NewWriter(&out, WriterOptions{Format: FormatPcap, SnapLen: r.Snaplen()})
	for i := range pk {
		if err := w.Write(&pk[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if !bytes.Equal(out.Bytes(), file) {
		t.Fatalf("pcap written back differs from the input")
	}

	out.Reset()
	w = NewWriter(&out, WriterOptions{Format: FormatPcapNG, Comment: "section"})
	w.DeclareInterfaces([]Interface{{LinkType: layers.LinkTypeEthernet, Name: "eth0"}, {LinkType: layers.LinkTypeRaw, Name: "tun0"}})
	ts := time.Unix(1700000000, 987654321)
	w.Write(&Packet{Data: []byte("eth frame....."), Timestamp: ts, Length: 100, Interface: 0, LinkType: layers.LinkTypeEthernet}, []byte("hello"))
	w.Write(&Packet{Data: []byte{0x45, 1, 2}, Timestamp: ts.Add(1), Length: 3, Interface: 1, LinkType: layers.LinkTypeRaw}, nil)
	w.Flush()
	got, r2, err := readAll(t, out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Comment != "hello" || got[0].Length != 100 || !got[0].Timestamp.Equal(ts) ||
		got[1].LinkType != layers.LinkTypeRaw || got[1].Interface != 1 || r2.SectionComment() != "section" {
		t.Fatalf("pcapng round trip: %+v", got)
	}
	if n := len(r2.Interfaces()); n != 2 || r2.Interfaces()[1].Name != "tun0" {
		t.Errorf("interfaces %+v", r2.Interfaces())
	}
}

// TestCorpusReads: every capture of the shared corpus reads to the end.
func TestCorpusReads(t *testing.T) {
	files, _ := filepath.Glob("../../shared/corpus/*.pcap*")
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no corpus in CI")
		}
		t.Skip("no corpus")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		pk, _, err := readAll(t, data)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
		if len(pk) == 0 && !strings.Contains(f, "test003") {
			t.Errorf("%s: no packets", filepath.Base(f))
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add(pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, []byte("0123456789abcdef")))
	f.Add(pcapFile(binary.BigEndian, true, 1514, layers.LinkTypeLinuxSLL, []byte("x")))
	var ng bytes.Buffer
	w := NewWriter(&ng, WriterOptions{Format: FormatPcapNG})
	w.DeclareInterfaces([]Interface{{LinkType: layers.LinkTypeEthernet}})
	w.Write(&Packet{Data: []byte("abc"), Length: 3}, []byte("vnet segs=1"))
	w.Flush()
	f.Add(ng.Bytes())
	f.Add(vnetFile(f, layers.LinkTypeEthernet, [][]byte{[]byte("abc"), []byte("defg")}, [][]byte{nil, {1, 1, 66, 0, 200, 5, 34, 0, 16, 0}}))
	f.Add(compressed(f, pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, []byte("0123456789abcdef")), Zstd))
	f.Add(compressed(f, ng.Bytes(), Gzip))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		defer r.Close() // a compressed stream's reading goroutine
		var p Packet
		var over int64
		for i := 0; i < 10000; i++ {
			if err := r.Next(&p); err != nil {
				break
			}
			if len(p.Data) > MaxFrame || p.Interface < 0 || p.Interface >= len(r.Interfaces()) {
				t.Fatalf("packet %d: %d bytes, length %d, interface %d", i, len(p.Data), p.Length, p.Interface)
			}
			if p.Length < len(p.Data) {
				over++ // read, and counted as an oddity
			}
		}
		if n := r.Metadata().CapturedOverOriginal; n != over {
			t.Fatalf("%d packets captured beyond their length, %d counted", over, n)
		}
	})
}
