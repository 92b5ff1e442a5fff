// Package superpacket builds one super-packet by the coalescer's rules from
// segments that must make exactly one: what a test, a fixture or a probe
// case needs when it wants the super-packet of a run it built, and not the
// stream of records a Coalescer gives. It uses only coalesce's public API;
// it is internal because no user of the library needs it.
package superpacket

import (
	"fmt"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Merge merges packets that must make exactly one super-packet (the
// segments of one run) and returns its frame (a copy) and virtio header;
// anything else is an error that says what came out instead.
func Merge(pkts []pcaps.Packet, o coalesce.Options) ([]byte, gso.VnetHeader, error) {
	var frame []byte
	var h gso.VnetHeader
	records, segs := 0, 0
	c := coalesce.New(o, func(r *coalesce.Record) error {
		records++
		frame, h, segs = append([]byte(nil), r.Packet.Data...), r.Meta.Vnet, r.Meta.Segs
		return nil
	})
	for i := range pkts {
		if err := c.Push(&pkts[i]); err != nil {
			return nil, h, err
		}
	}
	if err := c.Close(); err != nil {
		return nil, h, err
	}
	if records != 1 || h.GSOType == gso.None || segs != len(pkts) {
		return nil, h, fmt.Errorf("%d packets made %d records (the last of %d segments), not one super-packet", len(pkts), records, segs)
	}
	return frame, h, nil
}
