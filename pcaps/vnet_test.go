package pcaps

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// vnetFile writes frames with their headers (nil: plain) as a vnet file.
func vnetFile(t testing.TB, lt layers.LinkType, frames [][]byte, hdrs [][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := NewWriter(&b, WriterOptions{Format: FormatVnet, LinkType: lt})
	for i, f := range frames {
		if err := w.Write(&Packet{Data: f, Length: len(f), LinkType: lt, Vnet: hdrs[i]}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestVnetFile: the layout is the documented one, and a Reader gives back
// every header and frame.
func TestVnetFile(t *testing.T) {
	hdr := []byte{1, 5, 42, 0, 0xe8, 3, 34, 0, 6, 0}
	frames := [][]byte{[]byte("plain frame"), bytes.Repeat([]byte{7}, 3000)}
	file := vnetFile(t, layers.LinkTypeEthernet, frames, [][]byte{nil, hdr})

	want := append([]byte("GSOVNET1"), 10, 0, 1, 0, 0, 0, 0, 0)
	want = binary.LittleEndian.AppendUint32(want, 10+11)
	want = append(want, make([]byte, 10)...)
	want = append(want, "plain frame"...)
	want = binary.LittleEndian.AppendUint32(want, 10+3000)
	want = append(want, hdr...)
	want = append(want, frames[1]...)
	if !bytes.Equal(file, want) {
		t.Fatalf("file differs from the documented layout at byte %d", diffAt(file, want))
	}

	r, err := NewReader(bytes.NewReader(file), "x.vnet")
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != FormatVnet || r.Interfaces()[0].LinkType != layers.LinkTypeEthernet {
		t.Fatalf("format %v, interfaces %+v", r.Format(), r.Interfaces())
	}
	var got []Packet
	err = r.Each(func(p *Packet) error {
		q := *p
		q.Data, q.Vnet = append([]byte(nil), p.Data...), append([]byte(nil), p.Vnet...)
		got = append(got, q)
		return nil
	})
	if err != nil || len(got) != 2 {
		t.Fatalf("%d records, %v", len(got), err)
	}
	for i, p := range got {
		wantHdr := make([]byte, 10)
		if i == 1 {
			wantHdr = hdr
		}
		if !bytes.Equal(p.Data, frames[i]) || !bytes.Equal(p.Vnet, wantHdr) || p.Length != len(frames[i]) || p.Timestamp.Unix() != 0 {
			t.Errorf("record %d: %d bytes, header % x, length %d, time %v", i, len(p.Data), p.Vnet, p.Length, p.Timestamp)
		}
	}
}

func diffAt(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestVnetBadInput: cut, bogus and hostile vnet files give a one-line error
// naming the file and the record, never a panic or a 4 GiB allocation.
func TestVnetBadInput(t *testing.T) {
	good := vnetFile(t, layers.LinkTypeEthernet, [][]byte{[]byte("first"), []byte("second")}, [][]byte{nil, nil})
	with := func(off int, v uint32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	hdr12 := append([]byte(nil), good...)
	hdr12[8] = 11
	testBadInput(t, []badInput{
		{"header cut", good[:12], ErrTruncated, "vnet file header"},
		{"wrong magic", append([]byte("GSOVNET9"), good[8:]...), ErrNotCapture, "magic"},
		{"odd header size", hdr12, ErrNotCapture, "virtio header of 11 bytes"},
		{"record cut", good[:len(good)-2], ErrTruncated, "packet 2 (byte offset 35)"},
		{"length cut", good[:len(good)-17], ErrTruncated, "packet 2 (byte offset 35)"},
		{"length 4 GiB", with(16, 0xfffffff0), ErrTooLarge, "packet 1 (byte offset 16)"},
		{"length below the header", with(16, 3), ErrCorrupt, "shorter than its 10-byte virtio header"},
	})
}

// TestVnetWriterRefuses: one link type per file, 10-byte headers, no comments.
func TestVnetWriterRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       Packet
		comment []byte
		want    string
	}{
		{"other link type", Packet{Data: []byte("x"), LinkType: layers.LinkTypeRaw}, nil, "one link type"},
		{"header size", Packet{Data: []byte("x"), LinkType: layers.LinkTypeEthernet, Vnet: make([]byte, 12)}, nil, "virtio header of 12 bytes"},
		{"comment", Packet{Data: []byte("x"), LinkType: layers.LinkTypeEthernet}, []byte("hi"), "no packet comments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			w := NewWriter(&b, WriterOptions{Format: FormatVnet})
			if err := w.Write(&Packet{Data: []byte("first"), LinkType: layers.LinkTypeEthernet}, nil); err != nil {
				t.Fatal(err)
			}
			if err := w.Write(&tc.p, tc.comment); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestVnetWindow: a vnet file read through a lent ring that makes many
// laps gives every record's header and frame as written, each unchanged
// until the reclaim past its offset.
func TestVnetWindow(t *testing.T) {
	frames := windowFrames(3000, 3)
	hdrs := make([][]byte, len(frames))
	for i := range hdrs {
		hdrs[i] = []byte{1, byte(i), 66, 0, 200, 5, 34, 0, 16, byte(i >> 8)}
	}
	r, err := NewReader(bytes.NewReader(vnetFile(t, layers.LinkTypeEthernet, frames, hdrs)), "test.vnet")
	if err != nil {
		t.Fatal(err)
	}
	type kept struct {
		p Packet
		i int
	}
	var held []kept
	check := func(before int64) error {
		rest := held[:0]
		for _, k := range held {
			if k.p.Offset < before {
				continue
			}
			if !bytes.Equal(k.p.Data, frames[k.i]) || !bytes.Equal(k.p.Vnet, hdrs[k.i]) {
				return fmt.Errorf("record %d changed before a reclaim below %d", k.i+1, before)
			}
			rest = append(rest, k)
		}
		held = rest
		return nil
	}
	if !r.window(make([]byte, 2*minChunk+r.longest()), check, minChunk) {
		t.Fatal("Window refused a vnet file")
	}
	var p Packet
	for i := range frames {
		if err := r.Next(&p); err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
		held = append(held, kept{p, i})
	}
	if err := r.Next(&p); err != io.EOF {
		t.Fatalf("after the last record: %v", err)
	}
	if err := check(0); err != nil {
		t.Fatal(err)
	}
}
