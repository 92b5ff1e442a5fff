package coalesce_test

import (
	"fmt"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// A run of five full-size segments of one TCP flow, the last one short
// with PSH, becomes one super-packet; a pure ACK passes through.
func ExampleCoalescer() {
	segs := craft.Flow(craft.TCPBulk(), 5, func(k int, f *craft.Frame) {
		if k == 4 {
			f.Payload, f.Flags = f.Payload[:300], f.Flags|craft.PSH
		}
	})
	ack := craft.TCPBulk()
	ack.Sport, ack.Dport, ack.Payload = ack.Dport, ack.Sport, nil

	c := coalesce.New(coalesce.DefaultOptions(), func(rec *coalesce.Record) error {
		if rec.Meta.Segs > 1 {
			h := rec.Meta.Vnet
			fmt.Printf("super-packet of %d bytes: %d segments, gso=%s gso_size=%d\n", len(rec.Packet.Data), rec.Meta.Segs, h.GSOType, h.GSOSize)
		} else {
			fmt.Printf("passed through: %d bytes\n", len(rec.Packet.Data))
		}
		return nil
	})
	for _, p := range craft.Packets(segs, []craft.Frame{ack}) {
		if err := c.Push(&p); err != nil {
			panic(err)
		}
	}
	if err := c.Close(); err != nil {
		panic(err)
	}
	st := c.Stats()
	fmt.Printf("%d packets in, %d records out; the ACK: %s\n", st.Packets, st.Records, coalesce.ReasonNoPayload)
	// Output:
	// super-packet of 6158 bytes: 5 segments, gso=tcpv4 gso_size=1448
	// passed through: 66 bytes
	// 6 packets in, 2 records out; the ACK: no payload
}

// A super-packet's description in the pcapng comment syntax, and back.
func ExampleParseComment() {
	var m coalesce.Meta
	ok, err := coalesce.ParseComment("vnet flags=needs_csum gso=tcpv4 gso_size=1448 hdr_len=66 csum_start=34 csum_offset=16 segs=3 dt=1000,2000", &m)
	fmt.Println(ok, err)
	fmt.Printf("%+v, %d segments %v ns apart\n", m.Vnet, m.Segs, m.Deltas)
	fmt.Println(string(coalesce.AppendComment(nil, &m)))
	// Output:
	// true <nil>
	// {Flags:needs_csum GSOType:tcpv4 HdrLen:66 GSOSize:1448 CsumStart:34 CsumOffset:16 OuterTH:0 InnerNH:0}, 3 segments [1000 2000] ns apart
	// vnet flags=needs_csum gso=tcpv4 gso_size=1448 hdr_len=66 csum_start=34 csum_offset=16 segs=3 dt=1000,2000
}
