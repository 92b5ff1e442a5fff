package replay

import "github.com/gsoreplay/gsoreplay/pcaps"

// stream runs one pass over the capture, read as it goes. With several
// shards each pipeline reads the file on its own and keeps the packets
// Shard gives it: reading (from the page cache) is cheaper than handing
// packets from one reader to the others, and the pipelines share nothing
// but the clock. Memory stays bounded per pipeline: one reader's buffer
// and the coalescer's limits.
func (st *runState) stream(open Opener, ps []*pipeline) error {
	return st.parallel(ps, func(p *pipeline) error {
		r, err := open()
		if err != nil {
			return err
		}
		defer r.Close()
		send := func(it *Item) error { return st.send(p, it, false) }
		if len(ps) == 1 {
			if err := p.src.Feed(r, send); err != nil {
				return err
			}
			return p.flush()
		}
		p.src.Begin(r.Name(), IsCoalesced(r), send)
		err = r.Each(func(pk *pcaps.Packet) error {
			if r.Count() == 1 {
				p.sched.Begin(pk.Timestamp)
			}
			if Shard(pk, len(ps)) != p.index {
				return nil
			}
			return p.src.Packet(pk, r.Count())
		})
		if err != nil {
			return err
		}
		if err := p.src.End(); err != nil {
			return err
		}
		return p.flush()
	})
}
