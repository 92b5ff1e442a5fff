package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// maxFlowsCounted bounds the flow set of inspect; beyond it the count is a
// lower bound.
const maxFlowsCounted = 1 << 20

type inspectReport struct {
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
	// A coalesced file: its super-packets.
	Coalesced *coalescedInfo `json:"coalesced,omitempty"`
	// A raw capture: what coalescing it does.
	Coalescing *summary `json:"coalescing,omitempty"`
}

type coalescedInfo struct {
	SuperPackets int64            `json:"super_packets"`
	Segments     int64            `json:"segments"`
	GSO          map[string]int64 `json:"gso_types"`
}

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "tell what a capture holds and how well it coalesces",
		ArgsUsage: "IN",
		Description: `Counts packets, interfaces, link types, IP versions, protocols and flows, then
coalesces the capture in memory (nothing is written) and reports the merge
ratio, the super-packet size histogram, why packets could not be merged and
why runs ended. The coalescing flags are those of "gsoreplay coalesce". For a
file written by coalesce it reports its super-packets instead.

  gsoreplay inspect capture.pcap
  gsoreplay inspect --json capture.pcap | jq .coalescing.merged_percent`,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object instead of the table"},
		}, limitFlags()...),
		Action: func(c *cli.Context) error {
			in, opts, err := inputAndOptions(c)
			if err != nil {
				return err
			}
			r, done, err := input(c, in, "inspecting")
			if err != nil {
				return err
			}
			defer done()
			rep, err := inspect(r, opts)
			if err != nil {
				return err
			}
			done()
			if c.Bool("json") {
				return writeJSON(c.App.Writer, rep)
			}
			printInspect(c.App.Writer, rep, opts)
			return nil
		},
	}
}

func inspect(r *pcaps.Reader, opts coalesce.Options) (*inspectReport, error) {
	rep := &inspectReport{File: r.Name(), Format: r.Format().String(), LinkTypes: map[string]int64{}, FlowsExact: true}
	flows := map[coalesce.FlowID]struct{}{}
	c := coalesce.New(opts, func(*coalesce.Record) error { return nil })
	var meta coalesce.Meta
	var seg coalesce.Segmenter
	var ci coalescedInfo
	var first, last time.Time
	err := r.Each(func(p *pcaps.Packet) error {
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
		info := coalesce.Describe(p.Data, p.Length, p.LinkType, p.Interface)
		switch info.IPVersion {
		case 4:
			rep.IPv4++
		case 6:
			rep.IPv6++
		default:
			rep.NotIP++
		}
		switch info.Proto {
		case 6:
			rep.TCP++
		case 17:
			rep.UDP++
		}
		if info.HasFlow {
			if len(flows) < maxFlowsCounted {
				flows[info.Flow] = struct{}{}
			} else if _, ok := flows[info.Flow]; !ok {
				rep.FlowsExact = false
			}
		}
		var ok bool
		var err error
		if p.Vnet != nil {
			err = seg.VnetMeta(p.Vnet, p.Data, p.LinkType, &meta)
			ok = err != nil || meta.Vnet.GSOType != coalesce.GSONone
		} else {
			ok, err = coalesce.ParseComment(p.Comment, &meta)
		}
		if ok {
			if err != nil {
				return fmt.Errorf("%s: packet %d: %w", r.Name(), r.Count(), err)
			}
			ci.SuperPackets++
			ci.Segments += int64(meta.Segs)
			if ci.GSO == nil {
				ci.GSO = map[string]int64{}
			}
			ci.GSO[coalesce.GSOName(meta.Vnet.GSOType)]++
		}
		return c.Push(p)
	})
	if err != nil {
		return nil, err
	}
	if err := c.Close(); err != nil {
		return nil, err
	}
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
		s := summarize(c.Stats(), opts, 0)
		rep.Coalescing = &s
	}
	return rep, nil
}

func printInspect(w io.Writer, rep *inspectReport, o coalesce.Options) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s (%s)\n", rep.File, rep.Format)
	fmt.Fprintf(tw, "packets\t%d, %s, %.3f s\n", rep.Packets, humanBytes(rep.Bytes), rep.Seconds)
	fmt.Fprintf(tw, "interfaces\t%s\n", strings.Join(rep.Interfaces, ", "))
	fmt.Fprintf(tw, "link types\t%s\n", counts(rep.LinkTypes))
	fmt.Fprintf(tw, "network\tIPv4 %d, IPv6 %d, other %d\n", rep.IPv4, rep.IPv6, rep.NotIP)
	fmt.Fprintf(tw, "transport\tTCP %d, UDP %d, other %d\n", rep.TCP, rep.UDP, rep.Packets-rep.TCP-rep.UDP)
	approx := ""
	if !rep.FlowsExact {
		approx = " (at least)"
	}
	fmt.Fprintf(tw, "flows\t%d%s (one direction each)\n", rep.Flows, approx)
	fmt.Fprintf(tw, "frames\tlargest %d bytes, %d truncated by the capture\n", rep.Largest, rep.Truncated)
	if ci := rep.Coalesced; ci != nil {
		fmt.Fprintf(tw, "coalesced file\t%d super-packets carry %d segments (%s)\n", ci.SuperPackets, ci.Segments, counts(ci.GSO))
		tw.Flush()
		return
	}
	s := rep.Coalescing
	span := "no span limit"
	if o.MaxSpan > 0 {
		span = "span " + o.MaxSpan.String()
	}
	fmt.Fprintf(tw, "coalescing\t%s order, at most %d bytes, %d segments, %s\n", s.Order, o.MaxBytes, o.MaxSegments, span)
	fmt.Fprintf(tw, "  merge ratio\t%.1f%% of packets inside %d super-packets (%d packets, mean %.1f segments)\n", s.MergedPercent, s.SuperPackets, s.Coalesced, s.MeanSegments)
	ratio := 0.0
	if s.Records > 0 {
		ratio = float64(s.Packets) / float64(s.Records)
	}
	fmt.Fprintf(tw, "  records out\t%d (%.1fx fewer than packets)\n", s.Records, ratio)
	if len(s.GSO) > 0 {
		fmt.Fprintf(tw, "  gso types\t%s\n", counts(s.GSO))
		var hist []string
		for _, b := range segBuckets {
			if n := s.Segments[b]; n > 0 {
				hist = append(hist, fmt.Sprintf("%s: %d", b, n))
			}
		}
		fmt.Fprintf(tw, "  segments per super-packet\t%s\n", strings.Join(hist, ", "))
	}
	tw.Flush()
	printReasons(w, "not mergeable (packets)", s.Refused)
	printReasons(w, "runs ended by", s.Flushes)
}

func printReasons(w io.Writer, title string, m map[string]int64) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintln(w, title)
	for _, r := range coalesce.Reasons() {
		if n := m[r.Key()]; n > 0 {
			fmt.Fprintf(w, "  %10d  %s\n", n, r)
		}
	}
}

func counts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
