package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gsoreplay/gsoreplay/internal/htmlreport"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/verify"
)

// classes draws a verify's classification as bars (every class, zero or
// not) and the first differences it named.
func classes(p *htmlreport.Page, id, title string, bars []htmlreport.Bar, details []string) {
	p.Chart(htmlreport.Bars{ID: id + "classification", Title: title, YLabel: "frames", Bars: bars})
	if len(details) > 0 {
		rows := make([][]string, len(details))
		for i, d := range details {
			rows[i] = []string{d}
		}
		p.Text("The first differences (captured value first), and what else the check noted:")
		p.Table([]string{"difference"}, rows)
	}
}

// drops tells what counters saw dropped, by where.
func drops(p *htmlreport.Page, by map[string]uint64) {
	if len(by) == 0 {
		return
	}
	var rows [][]string
	for _, k := range sortedKeys(by) {
		rows = append(rows, []string{k, fmt.Sprint(by[k])})
	}
	p.Table([]string{"dropped by", "frames"}, rows)
}

func bar(label string, n int) htmlreport.Bar { return htmlreport.Bar{Label: label, Value: float64(n)} }

// keyBars is m as bars, by key.
func keyBars(m map[string]int) []htmlreport.Bar {
	var bars []htmlreport.Bar
	for _, k := range sortedKeys(m) {
		bars = append(bars, bar(k, m[k]))
	}
	return bars
}

// verifySection is one input of verify.
func verifySection(p *htmlreport.Page, id string, r *verify.Report) {
	p.Heading(fmt.Sprintf("%s: %s", r.File, strings.ToUpper(string(r.Verdict))))
	p.Text(fmt.Sprintf("%d packets sent (%d of them in %d super-packets); %d frames captured of %d expected at the %s, in %.2f s.",
		r.Packets, r.CoalescedPackets, r.SuperPackets-r.Resegmented, r.SegmentsCaptured, r.Expected, r.Capture, r.Seconds))
	classes(p, id, "Every frame expected, classified", []htmlreport.Bar{
		bar("exact", r.Exact), bar("normalized", r.Normalized), bar("mismatched", r.Mismatched),
		bar("missing", r.Missing), bar("extra", r.Extra), bar("reordered", r.Reordered),
	}, r.Details)
	p.Chart(htmlreport.Bars{ID: id + "normalized", Title: "Why frames were normalized", YLabel: "frames", Bars: keyBars(r.NormalizedWhy)})
	drops(p, r.DropsBy)
	seriesSections(p, id, r.Series)
	if r.Coalescing != nil {
		coalescingSections(p, id, r.Coalescing)
	}
}

// groSection is one input of verify --gro.
func groSection(p *htmlreport.Page, id string, r *verify.GROReport) {
	p.Heading(fmt.Sprintf("%s: GRO %s", r.File, strings.ToUpper(r.Verdict.String())))
	p.Text(fmt.Sprintf("%d frames sent one by one; %s handed up %d packets, %d of them GRO packets holding %d frames (mean %.1f segments); coalesce would make %d super-packets of %d frames.",
		r.Packets, r.Receiver, r.Received, r.GROPackets, r.GROMerged, r.MeanSegments, r.CoalesceSuperPackets, r.CoalesceMerged))
	classes(p, id, "What GRO handed up, classified", []htmlreport.Bar{
		bar("lossless GRO packets", r.Lossless), bar("lossy GRO packets", r.Lossy), bar("mismatched frames", r.Mismatched),
		bar("missing", r.Missing), bar("extra", r.Extra), bar("reordered", r.Reordered),
	}, r.Details)
	p.Chart(htmlreport.Bars{ID: id + "gro-not-coalesce", Title: "GRO merges coalesce refuses, by coalesce's reason", YLabel: "merges", Bars: keyBars(r.RefusedBecause)})
	drops(p, r.DropsBy)
	seriesSections(p, id, r.Series)
}

// forwardSection is one input of verify --forward.
func forwardSection(p *htmlreport.Page, id string, r *verify.ForwardReport) {
	p.Heading(fmt.Sprintf("%s: %s through the router", r.File, strings.ToUpper(string(r.Verdict))))
	p.Text(fmt.Sprintf("%d frames sent, %d forwardable; the receiver got %d (%d of them whole GSO packets), egress %s.",
		r.Packets, r.Forwardable, r.Received, r.SuperPackets, r.Egress))
	classes(p, id, "Every forwardable frame, classified", []htmlreport.Bar{
		bar("exact", r.Exact), bar("mismatched", r.Mismatched), bar("missing", r.Missing), bar("extra", r.Extra),
		bar("reordered", r.Reordered), bar("broken at GRO", r.BrokenAtGRO), bar("broken after GRO", r.BrokenAfterGRO),
	}, r.Details)
	var router []htmlreport.Bar // none on a router of the user's: not seen inside
	if g := r.Router; g != nil {
		router = []htmlreport.Bar{bar("handed up", g.Received), bar("GRO packets", g.GROPackets), bar("lossless", g.Lossless), bar("lossy", g.Lossy), bar("missing", g.Missing)}
	}
	p.Chart(htmlreport.Bars{ID: id + "router-gro", Title: "The router's GRO", YLabel: "packets", Bars: router})
	drops(p, r.DropsBy)
	seriesSections(p, id, r.Series)
}

func countBars(cs []replay.Count) []htmlreport.Bar {
	bars := make([]htmlreport.Bar, len(cs))
	for i, c := range cs {
		bars[i] = htmlreport.Bar{Label: c.Label, Value: float64(c.Count)}
	}
	return bars
}

// seriesSections draws a replay's series: rates, send-time error,
// super-packet sizes, pipelines. IDs are prefixed with id.
func seriesSections(p *htmlreport.Page, id string, s *replay.Series) {
	if s == nil {
		return
	}
	p.Heading("Rate on the wire")
	p.Text("From the interface counters, sampled during the run (" + s.How + ").")
	var frames, gbit []htmlreport.Series
	for _, w := range s.Wire {
		frames = append(frames, htmlreport.Series{Name: w.Interface, X: w.T, Y: w.FramesPerS})
		gbit = append(gbit, htmlreport.Series{Name: w.Interface, X: w.T, Y: w.GbitPerS})
	}
	p.Chart(htmlreport.LineChart{ID: id + "wire-frames", Title: "Frames per second", XLabel: "seconds since the start", YLabel: "frames/s", Series: frames})
	p.Chart(htmlreport.LineChart{ID: id + "wire-gbit", Title: "Gbit/s", XLabel: "seconds since the start", YLabel: "Gbit/s", Series: gbit})
	if e := s.SendError; e != nil {
		p.Heading("Send-time error")
		p.Text(fmt.Sprintf("When each of %d items left minus when it was due, in bins of %s of the schedule.", e.Sends, strconv.FormatFloat(e.BinS*1e3, 'g', -1, 64)+" ms"))
		p.Chart(htmlreport.LineChart{ID: id + "send-error", Title: "Send-time error over time", XLabel: "seconds since the start (when due)", YLabel: "µs late",
			Series: []htmlreport.Series{{Name: "most", X: e.T, Y: e.MaxUS}, {Name: "mean", X: e.T, Y: e.MeanUS}, {Name: "least", X: e.T, Y: e.MinUS}}})
		p.Chart(htmlreport.Histogram{ID: id + "send-error-histogram", Title: "Send-time error", XLabel: "late by", YLabel: "items", Bars: countBars(e.Histogram)})
	}
	p.Heading("Super-packets sent")
	p.Chart(htmlreport.Histogram{ID: id + "sent-segments", Title: "Super-packet sizes", XLabel: "segments per super-packet", YLabel: "super-packets", Bars: countBars(s.Segments)})
	p.Heading("Pipelines")
	var rows [][]string
	var bars []htmlreport.Bar
	for _, t := range s.Threads {
		rows = append(rows, []string{strconv.Itoa(t.Thread), itoa(t.Frames), humanBytes(t.Bytes), itoa(t.Sends), itoa(t.SuperPackets), itoa(t.Failed)})
		bars = append(bars, htmlreport.Bar{Label: "thread " + strconv.Itoa(t.Thread), Value: float64(t.Frames)})
	}
	p.Table([]string{"thread", "frames", "bytes", "sends", "super-packets", "refused"}, rows)
	p.Chart(htmlreport.Bars{ID: id + "threads", Title: "Frames by pipeline", YLabel: "frames", Bars: bars})
}

// replayPage is replay's report.
func replayPage(rep *replay.Report) *htmlreport.Page {
	p := &htmlreport.Page{Title: "gsoreplay replay " + rep.File + " on " + rep.Interface}
	p.Table([]string{"", ""}, [][]string{
		{"sent", fmt.Sprintf("%d frames, %s, in %.3f s (%d loops)", rep.Packets, humanBytes(rep.Bytes), rep.Seconds, rep.Loops)},
		{"rate", fmt.Sprintf("%.0f frames/s, %.2f Mbit/s", rep.PPS, rep.Mbps)},
		{"sends", fmt.Sprintf("%d items (%d super-packets) in %d syscalls, %d refused", rep.Sends, rep.SuperPackets, rep.Syscalls, rep.Failed)},
		{"interface counted", fmt.Sprintf("%d frames, %d dropped: %s", rep.IfaceTxPackets, rep.IfaceTxDropped, rep.IfaceCheck)},
		{"end drift", fmt.Sprintf("%.3f ms", rep.EndDriftMS)},
	})
	if len(rep.Sides) > 0 {
		p.Heading("Interfaces")
		var rows [][]string
		for _, s := range rep.Sides {
			rows = append(rows, []string{s.Interface, itoa(s.Packets), humanBytes(s.Bytes), fmt.Sprint(s.IfaceTxPackets), fmt.Sprint(s.IfaceTxDropped), s.IfaceCheck.String()})
		}
		p.Table([]string{"interface", "frames", "bytes", "counted", "dropped", "check"}, rows)
	}
	seriesSections(p, "", rep.Series)
	if rep.Coalescing != nil {
		coalescingSections(p, "", rep.Coalescing)
	}
	return p
}
