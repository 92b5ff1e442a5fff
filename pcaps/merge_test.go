package pcaps_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// TestMerge: two captures written by gopacket (one pcap, one pcapng) come
// out of Merge in timestamp order, the first's packet first on a tie, each
// with its Origin, the second's interfaces numbered after the first's.
func TestMerge(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(1000, int64(ms)*int64(time.Millisecond)) }
	var a, b bytes.Buffer
	wa := pcapgo.NewWriter(&a)
	if err := wa.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, ms := range []int{1, 3, 3, 7} {
		d := bytes.Repeat([]byte{'a', byte(ms)}, 30)
		wa.WritePacket(gopacket.CaptureInfo{Timestamp: at(ms), CaptureLength: len(d), Length: len(d)}, d)
	}
	wb, err := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, ms := range []int{0, 3, 5, 9, 10} {
		d := bytes.Repeat([]byte{'b', byte(ms)}, 30)
		wb.WritePacket(gopacket.CaptureInfo{Timestamp: at(ms), CaptureLength: len(d), Length: len(d)}, d)
	}
	wb.Flush()
	ra, err := pcaps.NewReader(&a, "a.pcap")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := pcaps.NewReader(&b, "b.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	r := pcaps.Merge(ra, rb)
	var got []string
	err = r.Each(func(p *pcaps.Packet) error {
		if want := map[byte]int{'a': 0, 'b': 1}[p.Data[0]]; p.Origin != want || p.Interface != want {
			t.Errorf("%c%d: origin %d interface %d, want %d", p.Data[0], p.Data[1], p.Origin, p.Interface, want)
		}
		got = append(got, string([]byte{p.Data[0], '0' + p.Data[1]}))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"b0", "a1", "a3", "a3", "b3", "b5", "a7", "b9", "b:"}
	if len(got) != len(want) || r.Count() != int64(len(want)) {
		t.Fatalf("%v (count %d), want %v", got, r.Count(), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%v, want %v", got, want)
		}
	}
	if n := len(r.Interfaces()); n != 2 {
		t.Errorf("%d interfaces, want 2", n)
	}
	if r.Name() != "a.pcap+b.pcapng" {
		t.Errorf("name %q", r.Name())
	}
}
