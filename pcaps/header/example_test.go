package header_test

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Reading a frame's headers in place: find the network header, check it,
// then read fields by name.
func Example() {
	f := craft.TCPBulk()
	f.VLANs = []uint16{craft.TPID8021Q}
	frame := f.Bytes()

	off, _, st := header.Network(frame, layers.LinkTypeEthernet)
	if st != header.LinkOK {
		panic(st)
	}
	ip := header.IPv4(frame[off:])
	if !ip.IsValid() || ip.Protocol() != header.ProtoTCP {
		panic("not TCP over IPv4")
	}
	tcp := header.TCP(ip.Payload())
	if !tcp.IsValid() {
		panic("TCP header cut short")
	}
	fmt.Printf("IPv4 at %d, ID %#04x, DF %v, checksum valid %v\n", off, ip.ID(), ip.DF(), ip.IsChecksumValid())
	fmt.Printf("TCP %d > %d seq %d flags %s, %d bytes of options, %d of payload\n",
		tcp.SourcePort(), tcp.DestinationPort(), tcp.SequenceNumber(), tcp.Flags(), len(tcp.Options()), len(tcp.Payload()))
	// Output:
	// IPv4 at 18, ID 0x1000, DF true, checksum valid true
	// TCP 40000 > 5201 seq 1000 flags ACK, 12 bytes of options, 1448 of payload
}
