package pcaps

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// windowFrames makes n frames of random sizes, some far above a read
// chunk, each filled with bytes that name it.
func windowFrames(n int, seed int64) [][]byte {
	rng := rand.New(rand.NewSource(seed))
	frames := make([][]byte, n)
	for i := range frames {
		size := 60 + rng.Intn(1500)
		switch rng.Intn(20) {
		case 0:
			size = 1 + rng.Intn(64<<10)
		case 1:
			size = 0
		}
		f := make([]byte, size)
		rng.Read(f)
		frames[i] = f
	}
	frames[n/2] = bytes.Repeat([]byte{0xab}, MaxFrame) // the longest record there is
	return frames
}

// TestWindowKeepsPackets: in Window mode every packet is the frame the
// file holds, and stays so — while the reader goes on through many laps of
// a small ring — until reclaim names a bound above it. The test keeps
// every packet as long as it may and checks them all at every reclaim.
func TestWindowKeepsPackets(t *testing.T) {
	frames := windowFrames(6000, 1)
	for _, v := range []struct {
		order binary.ByteOrder
		nano  bool
	}{{binary.LittleEndian, false}, {binary.BigEndian, true}} {
		t.Run(fmt.Sprintf("%v-nano=%v", v.order, v.nano), func(t *testing.T) {
			file := pcapFile(v.order, v.nano, 65535, layers.LinkTypeEthernet, frames...)
			r, err := NewReader(bytes.NewReader(file), "test.pcap")
			if err != nil {
				t.Fatal(err)
			}
			const chunk = 4096
			type kept struct {
				p Packet
				i int
			}
			var held []kept
			reclaims := 0
			check := func(before int64) error {
				reclaims++
				rest := held[:0]
				for _, k := range held {
					if k.p.Offset < before {
						continue
					}
					if !bytes.Equal(k.p.Data, frames[k.i]) {
						return fmt.Errorf("packet %d at offset %d changed before a reclaim below %d", k.i+1, k.p.Offset, before)
					}
					rest = append(rest, k)
				}
				held = rest
				return nil
			}
			if !r.window(make([]byte, 2*chunk+MaxFrame+rawRecordHeader), check, chunk) {
				t.Fatal("Window refused a plain pcap")
			}
			offset := int64(24)
			for i := 0; ; i++ {
				var p Packet
				err := r.Next(&p)
				if err == io.EOF {
					if i != len(frames) {
						t.Fatalf("%d packets, want %d", i, len(frames))
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				ts := int64(1700000000+i)*1e9 + 123456*1000
				if v.nano {
					ts -= 123456 * 999
				}
				if !bytes.Equal(p.Data, frames[i]) || p.Length != len(frames[i]) || p.Timestamp.UnixNano() != ts || p.Offset != offset {
					t.Fatalf("packet %d: %d bytes at offset %d, time %v; want %d at %d", i+1, len(p.Data), p.Offset, p.Timestamp, len(frames[i]), offset)
				}
				offset += 16 + int64(len(frames[i]))
				held = append(held, kept{p, i})
			}
			if err := check(0); err != nil {
				t.Fatal(err)
			}
			if reclaims < 10 {
				t.Fatalf("%d reclaims: the ring did not lap", reclaims)
			}
		})
	}
}

// readWindow reads data as readAll does, in Window mode (a ring that
// laps often), copying each packet.
func readWindow(t *testing.T, data []byte) ([]Packet, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), "test.pcap")
	if err != nil {
		return nil, err
	}
	if !r.window(make([]byte, 2*minChunk+MaxFrame+rawRecordHeader), func(int64) error { return nil }, minChunk) {
		return nil, errWindowRefused
	}
	var out []Packet
	for {
		var p Packet
		err := r.Next(&p)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
}

var errWindowRefused = errors.New("Window refused")

// agree fails unless the Reader, with its own ring and with a lent one
// that laps often, reads data as gopacket's pcapgo does: the same packets,
// and an error where pcapgo has one. One difference is meant: where the
// file ends after a record's header, pcapgo stops as at a clean end and
// the Reader says the file is truncated.
func agree(t *testing.T, name string, data []byte) {
	t.Helper()
	var want []Packet
	var werr error
	if pr, err := pcapgo.NewReader(bytes.NewReader(data)); err != nil {
		return // no pcap file header: not what this compares
	} else {
		pr.SetSnaplen(MaxFrame)
		for {
			d, ci, err := pr.ReadPacketData()
			if err != nil {
				if err != io.EOF {
					werr = err
				}
				break
			}
			want = append(want, Packet{Data: d, Timestamp: ci.Timestamp, Length: ci.Length})
		}
	}
	own, _, oerr := readAll(t, data)
	lent, lerr := readWindow(t, data)
	for _, got := range []struct {
		mode string
		pkts []Packet
		err  error
	}{{"own ring", own, oerr}, {"lent ring", lent, lerr}} {
		// pcapgo stops at a record captured beyond its original length;
		// tcpdump, Wireshark and we read on: only what comes before it is
		// compared, and the reader must have read that record.
		overWire := werr != nil && strings.Contains(werr.Error(), "exceeds original packet length")
		switch {
		case overWire && len(got.pkts) == len(want) && errors.Is(got.err, ErrTruncated):
			// The record is cut short as well: that is the error.
		case overWire:
			if len(got.pkts) <= len(want) || got.pkts[len(want)].Length >= len(got.pkts[len(want)].Data) {
				t.Fatalf("%s, %s: the record beyond its length not read (%d packets, %v)", name, got.mode, len(got.pkts), got.err)
			}
			got.pkts = got.pkts[:len(want)]
		case (werr != nil) != (got.err != nil) && !(werr == nil && errors.Is(got.err, ErrTruncated)):
			t.Fatalf("%s, %s: error %v, pcapgo says %v", name, got.mode, got.err, werr)
		case len(got.pkts) != len(want):
			t.Fatalf("%s, %s: %d packets, pcapgo reads %d", name, got.mode, len(got.pkts), len(want))
		}
		offset := int64(24)
		for i, g := range got.pkts {
			w := want[i]
			if !bytes.Equal(g.Data, w.Data) || !g.Timestamp.Equal(w.Timestamp) || g.Length != max(w.Length, len(w.Data)) || g.Offset != offset {
				t.Fatalf("%s, %s: packet %d differs: %d bytes %v len %d off %d, pcapgo %d bytes %v len %d off %d", name, got.mode, i+1,
					len(g.Data), g.Timestamp, g.Length, g.Offset, len(w.Data), w.Timestamp, w.Length, offset)
			}
			offset += 16 + int64(len(w.Data))
		}
	}
}

// TestWindowAgreesWithPcapgo: on the corpus's pcap files, on files of both
// byte orders and resolutions, gzipped, and on malformed files, the Reader
// reads what pcapgo reads.
func TestWindowAgreesWithPcapgo(t *testing.T) {
	good := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, []byte("0123456789abcdef"), []byte("second"))
	huge := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(huge[24+8:], 0xfffffff0)
	binary.LittleEndian.PutUint32(huge[24+12:], 0xfffffff0)
	longer := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(longer[24+12:], 3) // captured 16 of 3 bytes
	badUsec := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(badUsec[24+4:], 0xfffffff0) // usec out of range: pcapgo's 32-bit product
	frames := windowFrames(300, 2)
	cases := map[string][]byte{
		"good": good, "huge": huge, "usec out of range": badUsec,
		"header cut": good[:20], "record header cut": good[:24+10], "record cut": good[:len(good)-3],
		"le-usec":  pcapFile(binary.LittleEndian, false, 100, layers.LinkTypeLinuxSLL, frames...),
		"be-nsec":  pcapFile(binary.BigEndian, true, 65535, layers.LinkTypeRaw, frames...),
		"big cut":  pcapFile(binary.BigEndian, true, 65535, layers.LinkTypeRaw, frames...)[:1<<20+100],
		"no frame": pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet),
		"data cut": good[:24+16+16+16],
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(cases["le-usec"])
	zw.Close()
	cases["gzip"] = gz.Bytes()
	files, _ := filepath.Glob("../../shared/corpus/*.pcap")
	if len(files) == 0 && os.Getenv("CI") == "true" {
		t.Fatal("no corpus in CI")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases[filepath.Base(f)] = data
	}
	for name, data := range cases {
		agree(t, name, data)
	}

	// pcapgo refuses a record longer than the wire; tcpdump and Wireshark
	// read it, and so do we, counted.
	pkts, _, err := readAll(t, longer)
	if err != nil || len(pkts) != 2 || len(pkts[0].Data) != 16 || pkts[0].Length != 3 {
		t.Fatalf("captured above original: %d packets, err %v", len(pkts), err)
	}
	r, _ := NewReader(bytes.NewReader(longer), "longer")
	r.Each(func(*Packet) error { return nil })
	if n := r.Metadata().CapturedOverOriginal; n != 1 {
		t.Fatalf("CapturedOverOriginal = %d, want 1", n)
	}
}

// TestWindowRefused: Window declines what it cannot read in place, and the
// Reader then reads as before.
func TestWindowRefused(t *testing.T) {
	plain := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, []byte("0123456789abcdef"), []byte("second"))
	var ng bytes.Buffer
	w := NewWriter(&ng, WriterOptions{Format: FormatPcapNG})
	w.DeclareInterfaces([]Interface{{LinkType: layers.LinkTypeEthernet}})
	w.Write(&Packet{Data: []byte("0123456789abcdef"), Length: 16}, nil)
	w.Write(&Packet{Data: []byte("second"), Length: 6}, nil)
	w.Flush()
	vnet := vnetFile(t, layers.LinkTypeEthernet, [][]byte{[]byte("0123456789abcdef"), []byte("second")}, [][]byte{nil, nil})
	nop := func(int64) error { return nil }
	for _, tc := range []struct {
		name string
		data []byte
		buf  int
		read int // packets read before asking
	}{
		{"pcapng, ring under MinWindowNG", ng.Bytes(), MinWindowNG - 1, 0},
		{"vnet, ring too small", vnet, MaxFrame + 2*minChunk, 0},
		{"small buffer", plain, MinWindow - 1, 0},
		{"after a packet", plain, MinWindow, 1},
	} {
		r, err := NewReader(bytes.NewReader(tc.data), "test")
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for range tc.read {
			if err := r.Next(&p); err != nil {
				t.Fatal(err)
			}
		}
		if r.Window(make([]byte, tc.buf), nop) {
			t.Errorf("%s: Window accepted", tc.name)
		}
		for i := tc.read; i < 2; i++ {
			if err := r.Next(&p); err != nil || len(p.Data) != []int{16, 6}[i] {
				t.Fatalf("%s: packet %d: %d bytes, %v", tc.name, i+1, len(p.Data), err)
			}
		}
	}
}

// TestGzipInside: a gzipped file must hold a capture: twice gzipped, or
// gzipped text, or a gzipped pcap cut inside its magic (a file of three
// bytes, as uncompressed), or inside its header, is an error that names
// the file, never a reader that cannot read.
func TestGzipInside(t *testing.T) {
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	plain := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, []byte("0123456789abcdef"))
	for _, tc := range []struct {
		name  string
		data  []byte
		class error
	}{
		{"twice", gz(gz(plain)), ErrNotCapture},
		{"text", gz([]byte("hello, not a capture")), ErrNotCapture},
		{"cut", gz(plain[:3]), ErrNotCapture},
		{"header cut", gz(plain[:20]), ErrTruncated},
	} {
		_, err := NewReader(bytes.NewReader(tc.data), "test.pcap.gz")
		if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), "test.pcap.gz") {
			t.Errorf("%s: %v, want %v naming the file", tc.name, err, tc.class)
		}
	}
}

// TestWindowReclaimError: an error of reclaim ends the read with that very
// error.
func TestWindowReclaimError(t *testing.T) {
	file := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, windowFrames(2000, 3)...)
	r, err := NewReader(bytes.NewReader(file), "test.pcap")
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop here")
	r.window(make([]byte, 2*4096+MaxFrame+rawRecordHeader), func(int64) error { return stop }, 4096)
	var p Packet
	for err == nil {
		err = r.Next(&p)
	}
	if err != stop {
		t.Fatalf("err %v, want the callback's own", err)
	}
}

// FuzzWindow: on any input, Window mode and pcapgo agree.
func FuzzWindow(f *testing.F) {
	f.Add(pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, []byte("0123456789abcdef"), []byte("x")))
	f.Add(pcapFile(binary.BigEndian, true, 1514, layers.LinkTypeLinuxSLL, []byte("x"), nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		agree(t, "fuzz", data)
	})
}

// BenchmarkReader reads a pcap of 20,000 frames (bulk-TCP sizes) from
// memory: the cost per record of parsing in place, with the reader's own
// ring (bytes/s counts the file; the ring and the reader's buffer are
// allocated once a file).
func BenchmarkReader(b *testing.B) {
	const n = 20000
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = make([]byte, []int{1514, 66, 1514, 1514}[i%4])
	}
	file := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, frames...)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	var p Packet
	for range b.N {
		r, err := NewReader(bytes.NewReader(file), "bench")
		if err != nil {
			b.Fatal(err)
		}
		for r.Next(&p) == nil {
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
