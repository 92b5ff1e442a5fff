package replay

import (
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/hugemem"
)

// stream runs one pass over the capture, read as it goes. With several
// shards each pipeline reads the file on its own and keeps the packets
// its Steer gives it (every pipeline's Steer gives the same answers). A
// single reader handing packets to the pipelines reads the file once, but
// ties them together: where a capture's connections follow one another in
// time (recordings joined end to end), only one pipeline would have work
// at a time, within the few MiB a reader may run ahead. Reading the file
// in each pipeline costs little from the page cache (bench/NOTES.md), and
// the pipelines share nothing but the clock.
//
// A file of any format (compressed or not) is read into a ring of the
// pipeline's own, in huge pages (pcaps.Reader.Window), in a stage of its
// own (staged), and its Source borrows the packets there: a super-packet
// goes to the kernel as its rebuilt headers and the payloads in place, a
// lone frame as it lies in the ring; nothing is copied in user space.
// Only pcapng through a ring too small for its longest block, and two
// captures read as one (--dualfile), are read and sent in one stage, from
// the reader's buffer, copied.
// Memory stays bounded per pipeline: the ring and the coalescer's limits.
func (st *runState) stream(open Opener, ps []*pipeline) error {
	return st.parallel(ps, func(p *pipeline) error {
		r, err := open()
		if err != nil {
			return err
		}
		defer r.Close()
		if !r.Merged() && (r.Format() != pcaps.FormatPcapNG || st.window() >= pcaps.MinWindowNG) {
			if p.ring == nil {
				p.arena = hugemem.NewArena(st.window())
				p.ring = p.arena.Alloc(st.window())
			}
			return st.staged(p, r, len(ps), ethernet(r.Interfaces()))
		}
		p.src.Borrow(false)
		send := func(it *item) error { return st.send(p, it, false) }
		if len(ps) == 1 && st.o.Part.N <= 1 {
			if err := p.src.Feed(r, send); err != nil {
				return err
			}
			return p.flush()
		}
		p.src.Begin(r.Name(), isCoalesced(r), send)
		part := newPartFilter(st.o.Part)
		steer := newSteer(len(ps))
		err = r.Each(func(pk *pcaps.Packet) error {
			if r.Count() == 1 {
				p.sched.Begin(pk.Timestamp)
			}
			if !part.keep(pk, r.Count()) || steer.Shard(pk) != p.index {
				return nil
			}
			return p.src.Packet(pk, r.Count())
		})
		if err != nil {
			return err
		}
		if part != nil && p.index == 0 {
			st.part = part.report(st.o.Part)
		}
		if err := p.src.End(); err != nil {
			return err
		}
		return p.flush()
	})
}

// ethernet reports whether every interface the file declared so far is
// Ethernet (a pcap has one).
func ethernet(ifaces []pcaps.Interface) bool {
	for _, in := range ifaces {
		if in.LinkType != layers.LinkTypeEthernet {
			return false
		}
	}
	return len(ifaces) > 0
}

func (st *runState) window() int {
	if st.o.Window > 0 {
		return st.o.Window
	}
	return DefaultWindow
}
