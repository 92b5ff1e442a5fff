package capfile_test

import (
	"bytes"
	"fmt"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// Coalesce a capture into a pcapng of super-packets, then Restore it: the
// very file comes back.
func Example() {
	var orig bytes.Buffer
	fx := craft.Fixtures()[2] // uso-v4: 150 UDP datagrams of one flow
	w := pcaps.NewWriter(&orig, pcaps.WriterOptions{Format: pcaps.FormatPcap})
	for i := range fx.Pkts {
		if err := w.Write(&fx.Pkts[i], nil); err != nil {
			panic(err)
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}

	// Coalesce: the section comment records the original format.
	r, _ := pcaps.NewReader(bytes.NewReader(orig.Bytes()), "capture.pcap")
	var super bytes.Buffer
	sw := pcaps.NewWriter(&super, pcaps.WriterOptions{Format: pcaps.FormatPcapNG, Comment: capfile.OriginOf(r).String()})
	st, err := capfile.Coalesce(r, sw, coalesce.DefaultOptions(), nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d packets -> %d records, %d super-packets\n", st.Packets, st.Records, st.SuperPackets)

	// Restore, in the format the section comment names.
	sr, _ := pcaps.NewReader(&super, "super.pcapng")
	origin, _ := capfile.ParseOrigin(sr.SectionComment())
	var back bytes.Buffer
	bw := pcaps.NewWriter(&back, pcaps.WriterOptions{Format: origin.Format, Nanosecond: origin.Nanosecond, SnapLen: origin.SnapLen})
	rs, err := capfile.Restore(sr, bw, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d records -> %d packets; the same file: %v\n", rs.Records, rs.Emitted(), bytes.Equal(back.Bytes(), orig.Bytes()))
	// Output:
	// 150 packets -> 3 records, 3 super-packets
	// 3 records -> 150 packets; the same file: true
}
