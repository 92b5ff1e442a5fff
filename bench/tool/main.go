// Command tool makes the inputs and the anchor of bench/replay.sh:
//
//	tool bare -i IFACE -d 5s   sends ready-made 64 KiB TCPv4 GSO frames as fast
//	                           as sendmmsg takes them (the bare GSO sender)
//	tool small -o OUT -n N     writes N small frames that cannot be merged
//	tool timed -o OUT -s S     writes bursts of bulk TCP spread over S seconds
//	tool oneway -o OUT IN      keeps the frames of IN that carry TCP payload
//
// It is a benchmark helper, not part of the product.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/craft"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tool bare|small|timed ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	iface := fs.String("i", "", "interface")
	dur := fs.Duration("d", 5*time.Second, "how long to send")
	batch := fs.Int("batch", 16, "messages per sendmmsg")
	out := fs.String("o", "", "output pcap")
	n := fs.Int("n", 100000, "frames")
	secs := fs.Int("s", 10, "seconds the capture spans")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "bare":
		err = bare(*iface, *dur, *batch)
	case "small":
		err = small(*out, *n)
	case "timed":
		err = timed(*out, *secs)
	case "oneway":
		err = oneway(*out, fs.Arg(0))
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tool:", err)
		os.Exit(1)
	}
}

// superPacket is the probe's first case: 45 full-size TCPv4 segments
// coalesced into one 64 KiB super-packet.
func superPacket() (frame []byte, h coalesce.VnetHeader, segs int, err error) {
	cases, err := replay.ProbeCases()
	if err != nil {
		return nil, h, 0, err
	}
	c := cases[0]
	return c.Frame, c.Vnet, c.ExpectFor(replay.KnownKernel[0], replay.KnownKernel[1]).Outcome.Segments, nil
}

func bare(iface string, d time.Duration, batch int) error {
	frame, h, segs, err := superPacket()
	if err != nil {
		return err
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
		return err
	}
	var hdr [coalesce.VnetHeaderLen]byte
	h.Encode(hdr[:])
	iov := []unix.Iovec{{Base: &hdr[0]}, {Base: &frame[0]}}
	iov[0].SetLen(len(hdr))
	iov[1].SetLen(len(frame))
	msgs := make([]unix.Mmsghdr, batch)
	for i := range msgs {
		msgs[i].Hdr.Iov = &iov[0]
		msgs[i].Hdr.SetIovlen(2)
	}
	var sent, failed int64
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(batch), 0, 0, 0)
		if e != 0 {
			failed++
			continue
		}
		sent += int64(r)
	}
	fmt.Printf("bare: %d super-packets of %d segments (%d frames), %d failed calls\n", sent, segs, sent*int64(segs), failed)
	return nil
}

func write(path string, pkts []pcaps.Packet) error {
	if path == "" {
		return fmt.Errorf("-o is required")
	}
	return craft.WriteFile(path, pkts)
}

// oneway: the data direction of a bulk capture, without its pure ACKs.
func oneway(out, in string) error {
	r, err := pcaps.Open(in)
	if err != nil {
		return err
	}
	defer r.Close()
	var pkts []pcaps.Packet
	err = r.Each(func(p *pcaps.Packet) error {
		if v, ok := coalesce.ViewTCP(p.Data, p.LinkType, p.Interface); ok && v.Payload > 0 {
			q := *p
			q.Data = append([]byte(nil), p.Data...)
			pkts = append(pkts, q)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return write(out, pkts)
}

// small: pure ACKs of 64 flows in turn, 1 µs apart: nothing to merge.
func small(out string, n int) error {
	base := craft.TCPBulk()
	base.Payload = nil
	pkts := make([]pcaps.Packet, 0, n)
	for i := range n {
		p := base
		p.Sport = 40000 + uint16(i%64)
		p.Ack = base.Ack + uint32(i/64)*1448
		p.ID = uint16(i / 64)
		p.Timestamp = base.Timestamp.Add(time.Duration(i) * time.Microsecond)
		pkts = append(pkts, p.Packet())
	}
	return write(out, pkts)
}

// timed: every millisecond a burst of 10 full-size segments 10 µs apart,
// for secs seconds; the last packet is due secs seconds after the first.
func timed(out string, secs int) error {
	base := craft.TCPBulk()
	var pkts []pcaps.Packet
	bursts := secs * 1000
	for b := range bursts {
		start := base
		start.Seq = base.Seq + uint32(b*10*1448)
		start.ID = base.ID + uint16(b*10)
		start.Timestamp = base.Timestamp.Add(time.Duration(b) * time.Millisecond)
		pkts = append(pkts, craft.Packets(craft.Flow(start, 10, nil))...)
	}
	last := base.Timestamp.Add(time.Duration(secs) * time.Second)
	end := base
	end.Payload, end.Flags, end.Seq, end.Timestamp = nil, craft.ACK|craft.FIN, base.Seq+uint32(bursts*10*1448), last
	pkts = append(pkts, end.Packet())
	return write(out, pkts)
}
