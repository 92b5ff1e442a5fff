// Package inspect tells what a capture holds and how well it coalesces:
// packets, interfaces, link types, IP versions, protocols and flows, then
// the coalescer's statistics over the whole capture (nothing is written);
// for a capture that is already coalesced, its super-packets instead.
// Describe is one packet as the report sees it, for other reports that
// count or group frames the same way.
//
//	r, _ := pcaps.Open("capture.pcap")
//	rep, err := inspect.Capture(r, coalesce.DefaultOptions())
//	fmt.Println(rep.Coalescing.MergedPercent)
package inspect

import (
	"fmt"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// MaxFlowsCounted bounds the flow set; beyond it Report.Flows is a lower
// bound and FlowsExact false.
const MaxFlowsCounted = 1 << 20

// Report is what a capture holds.
type Report struct {
	File       string           `json:"file"`
	Format     string           `json:"format"`
	Packets    int64            `json:"packets"`
	Bytes      int64            `json:"bytes"`
	Seconds    float64          `json:"duration_seconds"`
	Interfaces []string         `json:"interfaces"`
	LinkTypes  map[string]int64 `json:"link_types"`
	IPv4       int64            `json:"ipv4"`
	IPv6       int64            `json:"ipv6"`
	NotIP      int64            `json:"not_ip"`
	TCP        int64            `json:"tcp"`
	UDP        int64            `json:"udp"`
	Flows      int64            `json:"flows"`
	FlowsExact bool             `json:"flows_exact"`
	Largest    int              `json:"largest_frame"`
	Truncated  int64            `json:"truncated_frames"`
	// What the file carries besides packets (pcapng blocks and options)
	// and the oddities read.
	Metadata Metadata `json:"metadata"`
	// A coalesced file: its super-packets.
	Coalesced *Coalesced `json:"coalesced,omitempty"`
	// A raw capture: what coalescing it does.
	Coalescing *coalesce.Summary `json:"coalescing,omitempty"`
}

// Coalesced describes the super-packets of a coalesced capture.
type Coalesced struct {
	SuperPackets int64            `json:"super_packets"`
	Segments     int64            `json:"segments"`
	GSO          map[string]int64 `json:"gso_types"`
}

// Capture reads r to the end and reports on it; opts are the coalescer's.
func Capture(r *pcaps.Reader, opts coalesce.Options) (*Report, error) {
	rep := &Report{File: r.Name(), Format: r.Format().String(), LinkTypes: map[string]int64{}, FlowsExact: true}
	flows := map[coalesce.Flow]struct{}{}
	c := coalesce.New(opts, func(*coalesce.Record) error { return nil })
	var cl coalesce.Classified // one classification serves the report and the coalescer
	var meta coalesce.Meta
	var seg gso.Segmenter
	var ci Coalesced
	var first, last time.Time
	r.KeepBlocks()
	err := r.Each(func(p *pcaps.Packet) error {
		if p.IsBlock() {
			rep.Metadata.addBlock(p.Block)
			return c.Push(p)
		}
		if rep.Packets == 0 {
			first = p.Timestamp
		}
		last = p.Timestamp
		rep.Packets++
		rep.Bytes += int64(len(p.Data))
		rep.Largest = max(rep.Largest, len(p.Data))
		if p.Length > len(p.Data) {
			rep.Truncated++
		}
		rep.LinkTypes[p.LinkType.String()]++
		cl.Classify(p)
		info := describe(p.Data, p.LinkType, &cl)
		switch info.IPVersion {
		case 4:
			rep.IPv4++
		case 6:
			rep.IPv6++
		default:
			rep.NotIP++
		}
		switch info.Proto {
		case header.ProtoTCP:
			rep.TCP++
		case header.ProtoUDP:
			rep.UDP++
		}
		if info.HasFlow {
			if len(flows) < MaxFlowsCounted {
				flows[info.Flow] = struct{}{}
			} else if _, ok := flows[info.Flow]; !ok {
				rep.FlowsExact = false
			}
		}
		var super bool
		var err error
		if p.Vnet != nil {
			err = meta.SetVnet(&seg, p.Vnet, p.Data, p.LinkType)
			super = err != nil || meta.Vnet.GSOType != gso.None
		} else {
			super, err = coalesce.ParseComment(p.Comment, &meta)
		}
		if super {
			if err != nil {
				return fmt.Errorf("%s: packet %d: %w", r.Name(), r.Count(), err)
			}
			ci.SuperPackets++
			ci.Segments += int64(meta.Segs)
			if ci.GSO == nil {
				ci.GSO = map[string]int64{}
			}
			ci.GSO[meta.Vnet.GSOType.String()]++
		}
		return c.PushClassified(p, &cl)
	})
	if err != nil {
		return nil, err
	}
	if err := c.Close(); err != nil {
		return nil, err
	}
	rep.Metadata.Metadata = r.Metadata()
	rep.Flows = int64(len(flows))
	rep.Seconds = last.Sub(first).Seconds()
	for _, in := range r.Interfaces() {
		name := in.Name
		if name == "" {
			name = "-"
		}
		rep.Interfaces = append(rep.Interfaces, fmt.Sprintf("%s (%s)", name, in.LinkType))
	}
	if ci.SuperPackets > 0 {
		rep.Coalesced = &ci
	} else {
		s := c.Stats().Summary(opts, 0)
		rep.Coalescing = &s
	}
	return rep, nil
}
