package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/inspect"
	"github.com/gsoreplay/gsoreplay/internal/htmlreport"
)

// reportFlag asks for the HTML report.
var reportFlag = &cli.StringFlag{Name: "report", Usage: "also write the report as one self-contained HTML page with charts to `FILE` (docs/reports.md)"}

// writePage writes p to the file --report names, when it names one.
func writePage(c *cli.Context, p *htmlreport.Page) error {
	name := c.String("report")
	if name == "" {
		return nil
	}
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	if _, err := p.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("--report %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--report %s: %w", name, err)
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// inspectPage is inspect's report: what the capture holds and how it
// coalesces.
func inspectPage(rep *inspect.Report) *htmlreport.Page {
	p := &htmlreport.Page{Title: "gsoreplay inspect " + rep.File}
	p.Table([]string{"", ""}, [][]string{
		{"file", rep.File + " (" + rep.Format + ")"},
		{"packets", fmt.Sprintf("%d, %s, %.3f s", rep.Packets, humanBytes(rep.Bytes), rep.Seconds)},
		{"link types", counts(rep.LinkTypes)},
		{"network", fmt.Sprintf("IPv4 %d, IPv6 %d, other %d", rep.IPv4, rep.IPv6, rep.NotIP)},
		{"transport", fmt.Sprintf("TCP %d, UDP %d, other %d", rep.TCP, rep.UDP, rep.Packets-rep.TCP-rep.UDP)},
		{"flows", itoa(int64(rep.Flows))},
		{"largest frame", fmt.Sprintf("%d bytes", rep.Largest)},
	})
	if ci := rep.Coalesced; ci != nil {
		p.Text(fmt.Sprintf("A coalesced file: %d super-packets carry %d segments.", ci.SuperPackets, ci.Segments))
		p.Chart(htmlreport.Bars{ID: "gso-types", Title: "Super-packets by gso_type", YLabel: "super-packets", Bars: mapBars(ci.GSO, nil)})
		return p
	}
	coalescingSections(p, "", rep.Coalescing)
	return p
}

// coalescingSections draws a coalescing summary: the merge ratio, the
// super-packets' sizes, why packets could not merge and why runs ended.
func coalescingSections(p *htmlreport.Page, id string, s *coalesce.Summary) {
	p.Heading("Coalescing")
	p.Text(fmt.Sprintf("%.1f%% of %d packets went inside %d super-packets (mean %.1f segments); %d records out.",
		s.MergedPercent, s.Packets, s.SuperPackets, s.MeanSegments, s.Records))
	p.Chart(htmlreport.Bars{ID: id + "merge", Title: "Merge ratio: packets inside super-packets and passed through", YLabel: "packets",
		Bars: []htmlreport.Bar{{Label: "inside super-packets", Value: float64(s.Coalesced)}, {Label: "passed through", Value: float64(s.PassedThrough)}}})
	p.Chart(htmlreport.Histogram{ID: id + "segments", Title: "Super-packet sizes", XLabel: "segments per super-packet", YLabel: "super-packets",
		Bars: mapBars(s.Segments, s.SegmentBuckets())})
	p.Chart(htmlreport.Bars{ID: id + "not-mergeable", Title: "Why packets could not be merged", YLabel: "packets", Bars: reasonBars(s.Refused)})
	p.Chart(htmlreport.Bars{ID: id + "run-ended", Title: "Why runs of mergeable packets ended", YLabel: "runs", Bars: reasonBars(s.Flushes)})
}

// mapBars is m as bars in order (every key of order), else by count.
func mapBars(m map[string]int64, order []string) []htmlreport.Bar {
	if order == nil {
		for k := range m {
			order = append(order, k)
		}
		sortByCount(order, m)
	}
	bars := make([]htmlreport.Bar, len(order))
	for i, k := range order {
		bars[i] = htmlreport.Bar{Label: k, Value: float64(m[k])}
	}
	return bars
}

// reasonBars is the reasons m counts, in the coalescer's order.
func reasonBars(m map[string]int64) []htmlreport.Bar {
	var bars []htmlreport.Bar
	for _, r := range coalesce.Reasons() {
		if n := m[r.Key()]; n > 0 {
			bars = append(bars, htmlreport.Bar{Label: r.Key(), Value: float64(n)})
		}
	}
	return bars
}
