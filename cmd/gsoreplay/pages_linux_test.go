package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/verify"
)

// TestReplayReportPage: replay --report, paced, two pipelines, in a lab:
// the rates the counters gave, the send-time error, the super-packets,
// the pipelines, the coalescing, all as the --json report says.
func TestReplayReportPage(t *testing.T) {
	l, inLab := labCLI(t)
	r, js := reportPage(t, "replay", 2900, inLab, "replay", "-i", l.IfA, "--threads", "2", "--pps", "20000", "--loop", "5", fixture)
	var rep replay.Report
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	s := rep.Series
	if s == nil || len(s.Wire) != 1 || len(s.Wire[0].T) < 10 || s.SendError == nil || len(s.Threads) != 2 || rep.Coalescing == nil {
		t.Fatalf("series: %+v", s)
	}
	// The counters' rates: their mean over the run is the rate asked for.
	var frames float64
	w := s.Wire[0]
	for i := range w.T {
		dt := w.T[i]
		if i > 0 {
			dt -= w.T[i-1]
		}
		frames += w.FramesPerS[i] * dt
	}
	if int64(frames+0.5) != rep.Packets || rep.Packets != 5*817 {
		t.Errorf("the rates add up to %.1f frames, the report says %d sent", frames, rep.Packets)
	}
	var sends, segs, sent int64
	for _, th := range s.Threads {
		sends += th.Sends
		sent += th.Frames
	}
	for _, c := range s.Segments {
		segs += c.Count
	}
	if sends != rep.Sends || sent != rep.Packets || segs != rep.SuperPackets || s.SendError.Sends != rep.Sends {
		t.Errorf("threads sent %d items (%d frames), %d super-packets by size, %d sends timed; the report: %d, %d, %d", sends, sent, segs, s.SendError.Sends, rep.Sends, rep.Packets, rep.SuperPackets)
	}
	checkCharts(t, r, append(seriesWants("", s), coalescingWants("", rep.Coalescing)...))
}

// TestVerifyReportPages: verify, verify --gro and verify --forward with
// --report: each classification and the replay's series, as in --json.
func TestVerifyReportPages(t *testing.T) {
	testenv.RequireRoot(t)
	run := func(args ...string) (int, string, string) { return gsoreplay(t, nil, args...) }
	bar := func(label string, n int) point { return point{label: label, value: f64(float64(n))} }
	sorted := func(m map[string]int) []point {
		var ps []point
		for _, k := range sortedKeys(m) {
			ps = append(ps, bar(k, m[k]))
		}
		return ps
	}

	t.Run("verify", func(t *testing.T) {
		r, js := reportPage(t, "verify", 3900, run, "verify", "-x", "0.2", fixture)
		var rep verify.Report
		if err := json.Unmarshal(js, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != verify.VerdictExact || rep.Series == nil || rep.Series.SendError == nil || rep.Coalescing == nil {
			t.Fatalf("report: %+v", rep)
		}
		checkCharts(t, r, append(append([]chartWant{
			{"in1-classification", []point{bar("exact", rep.Exact), bar("normalized", rep.Normalized), bar("mismatched", rep.Mismatched),
				bar("missing", rep.Missing), bar("extra", rep.Extra), bar("reordered", rep.Reordered)}},
			{"in1-normalized", sorted(rep.NormalizedWhy)},
		}, seriesWants("in1-", rep.Series)...), coalescingWants("in1-", rep.Coalescing)...))
	})
	t.Run("gro", func(t *testing.T) {
		r, js := reportPage(t, "verify-gro", 2900, run, "verify", "--gro", "--pps", "20000", fixture)
		var rep verify.GROReport
		if err := json.Unmarshal(js, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Series == nil || rep.GROPackets == 0 {
			t.Fatalf("report: %+v", rep)
		}
		checkCharts(t, r, append([]chartWant{
			{"in1-classification", []point{bar("lossless GRO packets", rep.Lossless), bar("lossy GRO packets", rep.Lossy), bar("mismatched frames", rep.Mismatched),
				bar("missing", rep.Missing), bar("extra", rep.Extra), bar("reordered", rep.Reordered)}},
			{"in1-gro-not-coalesce", sorted(rep.RefusedBecause)},
		}, seriesWants("in1-", rep.Series)...))
	})
	t.Run("forward", func(t *testing.T) {
		r, js := reportPage(t, "verify-forward", 2900, run, "verify", "--forward", "--pps", "20000", fixture)
		var rep verify.ForwardReport
		if err := json.Unmarshal(js, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Series == nil || rep.Router == nil {
			t.Fatalf("report: %+v", rep)
		}
		g := rep.Router
		checkCharts(t, r, append([]chartWant{
			{"in1-classification", []point{bar("exact", rep.Exact), bar("mismatched", rep.Mismatched), bar("missing", rep.Missing), bar("extra", rep.Extra),
				bar("reordered", rep.Reordered), bar("broken at GRO", rep.BrokenAtGRO), bar("broken after GRO", rep.BrokenAfterGRO)}},
			{"in1-router-gro", []point{bar("handed up", g.Received), bar("GRO packets", g.GROPackets), bar("lossless", g.Lossless), bar("lossy", g.Lossy), bar("missing", g.Missing)}},
		}, seriesWants("in1-", rep.Series)...))
	})
}

func line(name string, x, y []float64) []point {
	ps := make([]point, len(x))
	for i := range x {
		ps[i] = point{series: name, x: f64(x[i]), y: f64(y[i])}
	}
	return ps
}

// seriesWants is what a replay's series' charts hold.
func seriesWants(id string, s *replay.Series) []chartWant {
	var frames, gbit []point
	for _, w := range s.Wire {
		frames = append(frames, line(w.Interface, w.T, w.FramesPerS)...)
		gbit = append(gbit, line(w.Interface, w.T, w.GbitPerS)...)
	}
	counts := func(cs []replay.Count) []point {
		var l []string
		var v []int64
		for _, c := range cs {
			l, v = append(l, c.Label), append(v, c.Count)
		}
		return bars(l, v)
	}
	var tl []string
	var tv []int64
	for _, th := range s.Threads {
		tl, tv = append(tl, fmt.Sprintf("thread %d", th.Thread)), append(tv, th.Frames)
	}
	ws := []chartWant{{id + "wire-frames", frames}, {id + "wire-gbit", gbit}, {id + "sent-segments", counts(s.Segments)}, {id + "threads", bars(tl, tv)}}
	if e := s.SendError; e != nil {
		var pts []point
		pts = append(pts, line("most", e.T, e.MaxUS)...)
		pts = append(pts, line("mean", e.T, e.MeanUS)...)
		pts = append(pts, line("least", e.T, e.MinUS)...)
		ws = append(ws, chartWant{id + "send-error", pts}, chartWant{id + "send-error-histogram", counts(e.Histogram)})
	}
	return ws
}
