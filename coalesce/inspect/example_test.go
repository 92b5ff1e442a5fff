package inspect_test

import (
	"bytes"
	"fmt"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/inspect"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// A capture of one TCP connection, inspected: what it holds and how well it
// coalesces. Its 100 data segments fill two super-packets of 64 KiB and a
// third that the last segment (PSH|FIN) ends; the handshake and the ACKs
// pass through.
func ExampleCapture() {
	fx := craft.Fixtures()[0] // tcpv4: handshake, 100 segments, ACKs
	var file bytes.Buffer
	w := pcaps.NewWriter(&file, pcaps.WriterOptions{Format: pcaps.FormatPcap})
	for i := range fx.Pkts {
		if err := w.Write(&fx.Pkts[i], nil); err != nil {
			panic(err)
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	r, err := pcaps.NewReader(&file, fx.Name)
	if err != nil {
		panic(err)
	}
	rep, err := inspect.Capture(r, coalesce.DefaultOptions())
	if err != nil {
		panic(err)
	}
	s := rep.Coalescing
	fmt.Printf("%d packets (IPv4 %d, TCP %d) in %d flows\n", rep.Packets, rep.IPv4, rep.TCP, rep.Flows)
	fmt.Printf("%.1f%% merged into %d super-packets, %d records out\n", s.MergedPercent, s.SuperPackets, s.Records)
	fmt.Println("not mergeable:", s.Refused)
	fmt.Println("runs ended by:", s.Flushes)
	// Output:
	// 128 packets (IPv4 128, TCP 128) in 2 flows
	// 78.1% merged into 3 super-packets, 31 records out
	// not mergeable: map[no_payload:26 tcp_flags:2]
	// runs ended by: map[max_bytes:2 psh_fin:1]
}
