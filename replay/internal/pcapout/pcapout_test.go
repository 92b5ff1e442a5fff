package pcapout

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// TestWrite: pcapgo reads back every frame with its time and interface,
// and the interfaces named, Ethernet each; comments are in the blocks.
func TestWrite(t *testing.T) {
	frames := []Frame{
		{Data: craft.TCPBulk().Bytes(), Time: time.Unix(1700000000, 5), Comment: []byte("first")},
		{Data: craft.UDPBulk().Bytes(), Time: time.Unix(1700000001, 0), Interface: 1},
		{Data: craft.TCPBulk().Bytes(), Time: time.Unix(1700000002, 0), Interface: 1, Comment: []byte("third, on gro")},
	}
	path := filepath.Join(t.TempDir(), "out.pcapng")
	if err := Write(path, pcaps.WriterOptions{Application: "test", Comment: "a section"}, []string{"sent", "gro"}, slices.Values(frames)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range frames {
		got, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		if !bytes.Equal(got, want.Data) || !ci.Timestamp.Equal(want.Time) || ci.InterfaceIndex != want.Interface || ci.Length != len(want.Data) {
			t.Errorf("frame %d: %d bytes at %v on %d, want %d at %v on %d", i+1, len(got), ci.Timestamp, ci.InterfaceIndex, len(want.Data), want.Time, want.Interface)
		}
	}
	if _, _, err := r.ReadPacketData(); err == nil {
		t.Error("more frames than written")
	}
	if n := r.NInterfaces(); n != 2 {
		t.Fatalf("%d interfaces, want 2", n)
	}
	for i, name := range []string{"sent", "gro"} {
		ifc, err := r.Interface(i)
		if err != nil || ifc.Name != name || ifc.LinkType != layers.LinkTypeEthernet {
			t.Errorf("interface %d: %+v, %v; want %s, Ethernet", i, ifc, err, name)
		}
	}
	for _, c := range []string{"first", "third, on gro", "a section", "test"} {
		if !bytes.Contains(data, []byte(c)) {
			t.Errorf("the file does not hold %q", c)
		}
	}
}
