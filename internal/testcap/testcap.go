// Package testcap is what tests use to read and cut captures independently
// of the code under test: frames read with gopacket's pcapgo, and pcapng
// blocks removed by walking the file's framing alone.
package testcap

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// Frames reads every frame of a pcap or pcapng file with pcapgo.
func Frames(t testing.TB, path string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range Stamped(t, path) {
		out = append(out, f.Data)
	}
	return out
}

// Frame is a frame and its capture time.
type Frame struct {
	Timestamp time.Time
	Data      []byte
}

// Stamped reads every frame of a pcap or pcapng file and its timestamp
// with pcapgo.
func Stamped(t testing.TB, path string) []Frame {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var read func() ([]byte, gopacket.CaptureInfo, error)
	if len(data) >= 4 && binary.LittleEndian.Uint32(data) == 0x0A0D0D0A {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		read = r.ReadPacketData
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		read = r.ReadPacketData
	}
	var out []Frame
	for {
		d, ci, err := read()
		if err != nil {
			return out
		}
		out = append(out, Frame{ci.Timestamp, d})
	}
}

// WithoutBlocks is a pcapng file without its blocks of the given types,
// found from the framing alone (type, length, byte-order magic), and how
// many it cut. A pcap file comes back as it is.
func WithoutBlocks(data []byte, types ...uint32) (out []byte, cut int) {
	if len(data) < 4 || binary.LittleEndian.Uint32(data) != 0x0A0D0D0A {
		return data, 0
	}
	var order binary.ByteOrder = binary.LittleEndian
	for len(data) >= 12 {
		if binary.LittleEndian.Uint32(data) == 0x0A0D0D0A {
			order = binary.BigEndian
			if binary.LittleEndian.Uint32(data[8:]) == 0x1A2B3C4D {
				order = binary.LittleEndian
			}
		}
		n := int(order.Uint32(data[4:]))
		if n < 12 || n > len(data) {
			return append(out, data...), cut
		}
		drop := false
		for _, t := range types {
			drop = drop || order.Uint32(data) == t
		}
		if drop {
			cut++
		} else {
			out = append(out, data[:n]...)
		}
		data = data[n:]
	}
	return append(out, data...), cut
}
