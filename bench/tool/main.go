// Command tool makes the inputs, the anchor and the measure of bench/replay.sh:
//
//	tool bare -i IFACE -n N -threads T   sends N frames' worth of ready-made
//	                           64 KiB TCPv4 GSO frames as fast as sendmmsg takes
//	                           them, on T sockets and CPUs (the bare GSO sender);
//	                           -small: 66-byte frames (the bare AF_PACKET sender);
//	                           -segs S: super-packets of S segments;
//	                           -file F: F's own records, coalesced, their
//	                           connections shared by the T threads
//	                           (-ring R: through a TX ring of R frames)
//	tool xdp -i IFACE IN       sends the frames of IN, one pass, through an
//	                           AF_XDP socket (copy mode): that send path, measured
//	tool labcapture IN         gsoreplay verify of IN without the comparison:
//	                           its lab, replay and capture, frames counted
//	                           (bench/verify.sh's ceiling)
//	tool watch -i IFACE -n N   counts the frames IFACE receives, from the first
//	                           to the last, and prints the rate (JSON)
//	tool small -o OUT -n N     writes N small frames that cannot be merged
//	tool timed -o OUT -s S     writes bursts of bulk TCP spread over S seconds
//	tool long -o OUT -n N      writes N frames of 8 bulk TCP connections in
//	                           unbroken runs of 720 segments (BIG TCP's case)
//	tool oneway -o OUT IN      keeps the frames of IN that carry TCP payload
//
// It is a benchmark helper, not part of the product.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tool bare|xdp|labcapture|watch|small|timed|long|oneway ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	iface := fs.String("i", "", "interface")
	quiet := fs.Duration("quiet", time.Second, "watch: end this long after the last frame, when fewer than -n came")
	threads := fs.Int("threads", 1, "bare: sockets and CPUs")
	big := fs.Int("big", 0, "bare: send from a buffer of this many MiB in huge pages, not a hot one")
	smallFrames := fs.Bool("small", false, "bare: send 66-byte frames, not GSO super-packets")
	segs := fs.Int("segs", 0, "bare: super-packets of this many full-size segments, not 45")
	file := fs.String("file", "", "bare: send this capture's records (coalesced) from huge pages, connections shared by the threads")
	ring := fs.Int("ring", 0, "bare -file: send through a PACKET_TX_RING of this many frames, filled from the other CPU")
	batch := fs.Int("batch", 16, "messages per sendmmsg")
	out := fs.String("o", "", "output pcap")
	n := fs.Int("n", 100000, "frames")
	secs := fs.Int("s", 10, "seconds the capture spans")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "bare":
		if *file != "" {
			err = bareFile(*iface, *file, *threads, *batch, *ring)
		} else {
			err = bare(*iface, int64(*n), *threads, *batch, *big, *smallFrames, *segs)
		}
	case "xdp":
		err = xdp(*iface, fs.Arg(0))
	case "labcapture":
		err = labCapture(fs.Arg(0))
	case "watch":
		err = watch(*iface, int64(*n), *quiet)
	case "small":
		err = small(*out, *n)
	case "long":
		err = long(*out, *n)
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
	var v coalesce.TCPView
	err = r.Each(func(p *pcaps.Packet) error {
		if v.Parse(p.Data, p.LinkType, p.Interface) && v.Payload > 0 {
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

// long writes n frames of 8 bulk TCP connections (4 over IPv4, 4 over
// IPv6) in turns of 720 full-size segments each, IDs and sequence numbers
// unbroken: the longest runs a capture can hold, where BIG TCP's larger
// super-packets can show what they save.
func long(out string, n int) error {
	const turn = 720
	var pkts []pcaps.Packet
	next := make([]craft.Frame, 8)
	for c := range next {
		f := craft.TCPBulk()
		if c >= 4 {
			f = craft.TCPBulk6()
		}
		f.Sport += uint16(c)
		next[c] = f
	}
	for len(pkts) < n {
		for c := range next {
			k := min(turn, n-len(pkts))
			if k <= 0 {
				break
			}
			fl := craft.Flow(next[c], k, nil)
			pkts = append(pkts, craft.Packets(fl)...)
			last := fl[k-1]
			next[c].Seq, next[c].ID = last.Seq+uint32(len(last.Payload)), last.ID+1
		}
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
