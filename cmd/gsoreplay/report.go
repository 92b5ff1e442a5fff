package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/internal/htmlreport"
	"github.com/gsoreplay/gsoreplay/replay"
)

// maxReportBytes bounds what report merge reads of one file: a replay
// report is a few KiB, and its series at most a few hundred.
const maxReportBytes = 16 << 20

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "work with the --json reports of replay",
		Subcommands: withUsageErrors(&cli.Command{
			Name:      "merge",
			Usage:     "merge the reports of the shards of one replay (replay --shard K/N --json) into one",
			ArgsUsage: "REPORT.json...",
			Description: `Reads the --json reports of the N processes that replayed one capture together
(replay --shard K/N, on one host or many) and prints one report: the sums, the
span from the first frame any shard sent to the last, a line per shard, and
whether the shards together sent every record of the capture exactly once (each
report carries the count and a fingerprint of the records its shard took, and
of all the capture's). A file may hold several reports, one JSON object each.

  for k in 0 1 2; do ssh host$k gsoreplay replay -i eth1 --shard $k/3 \
      --start-at 2026-12-05T10:00:00Z --json cap.pcap > r$k.json & done; wait
  gsoreplay report merge r0.json r1.json r2.json

Exit status: 0 when the shards are complete and nothing was refused, 1
otherwise (the problems are listed), 2 on bad usage or an unreadable report.`,
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "json", Usage: `print {"file", "shards", "packets", ..., "capture_packets", "shard_packets", "complete", "problems", "per_shard": [...]}`},
				reportFlag,
			},
			Action: mergeReports,
		}),
	}
}

func mergeReports(c *cli.Context) error {
	if c.NArg() == 0 {
		return usagef("report merge: no reports given (the files replay --json wrote)")
	}
	var reps []*replay.Report
	for _, path := range c.Args().Slice() {
		rs, err := readReports(path)
		if err != nil {
			return usageError{err.Error()}
		}
		reps = append(reps, rs...)
	}
	m, err := replay.Merge(reps)
	if err != nil {
		return err
	}
	if err := writePage(c, mergedPage(m)); err != nil {
		return err
	}
	if c.Bool("json") {
		if err := json.NewEncoder(c.App.Writer).Encode(m); err != nil {
			return err
		}
	} else {
		printMerged(c.App.Writer, m)
	}
	if !m.Complete {
		return fmt.Errorf("report merge: %d problems", len(m.Problems))
	}
	return nil
}

// mergedPage is report merge's page: the sums, and each shard's share.
func mergedPage(m *replay.Merged) *htmlreport.Page {
	p := &htmlreport.Page{Title: "gsoreplay report merge " + m.File}
	complete := "every record of the capture sent exactly once"
	if !m.Complete {
		complete = fmt.Sprintf("NOT COMPLETE: %d problems", len(m.Problems))
	}
	p.Table([]string{"", ""}, [][]string{
		{"shards", fmt.Sprintf("%d: %s", m.Shards, complete)},
		{"sent", fmt.Sprintf("%d frames, %s, %d super-packets, %d refused", m.Packets, humanBytes(m.Bytes), m.SuperPackets, m.Failed)},
		{"span", fmt.Sprintf("%.3f s from the first frame of any shard to the last: %.0f frames/s, %.2f Mbit/s", m.Seconds, m.PPS, m.Mbps)},
	})
	p.Heading("Shards")
	var rows [][]string
	var frames, rates []htmlreport.Bar
	for _, s := range m.Parts {
		rows = append(rows, []string{s.Shard, s.Interface, itoa(s.Records), itoa(s.Packets),
			s.FirstFrameAt.Format(time.RFC3339Nano), s.LastFrameAt.Format(time.RFC3339Nano), fmt.Sprintf("%.0f", s.PPS)})
		frames = append(frames, htmlreport.Bar{Label: s.Shard, Value: float64(s.Packets)})
		rates = append(rates, htmlreport.Bar{Label: s.Shard, Value: s.PPS})
	}
	p.Table([]string{"shard", "interface", "records", "frames", "first frame", "last frame", "frames/s"}, rows)
	p.Chart(htmlreport.Bars{ID: "shard-frames", Title: "Frames by shard", XLabel: "shard", YLabel: "frames", Bars: frames})
	p.Chart(htmlreport.Bars{ID: "shard-rate", Title: "Frames per second by shard", XLabel: "shard", YLabel: "frames/s", Bars: rates})
	if len(m.Problems) > 0 {
		rows = rows[:0]
		for _, pr := range m.Problems {
			rows = append(rows, []string{pr})
		}
		p.Table([]string{"problem"}, rows)
	}
	return p
}

// readReports reads the JSON reports in path, one object after another.
func readReports(path string) ([]*replay.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, maxReportBytes))
	var out []*replay.Report
	for {
		var r replay.Report
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: report %d: not a replay --json report: %v", path, len(out)+1, err)
		}
		if r.File == "" {
			return nil, fmt.Errorf("%s: report %d: not a replay --json report (no \"file\")", path, len(out)+1)
		}
		out = append(out, &r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no report in it", path)
	}
	return out, nil
}

// printMerged writes a merged report for people.
func printMerged(w io.Writer, m *replay.Merged) {
	verdict := fmt.Sprintf("COMPLETE: every one of the capture's %d records sent by exactly one shard", m.CapturePackets)
	if !m.Complete {
		verdict = "INCOMPLETE"
	}
	fmt.Fprintf(w, "%s: %d shards, %s\n", m.File, m.Shards, verdict)
	for _, p := range m.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	fmt.Fprintf(w, "  sent      %d packets (%d bytes), %d super-packets, %d sends, %d refused\n", m.Packets, m.Bytes, m.SuperPackets, m.Sends, m.Failed)
	fmt.Fprintf(w, "  span      %s to %s: %.6f s, %.2f pps, %.2f Mbps\n", stamp(m.FirstFrameAt), stamp(m.LastFrameAt), m.Seconds, m.PPS, m.Mbps)
	for _, p := range m.Parts {
		fmt.Fprintf(w, "  shard %-5s on %s: %d records of the capture, %d packets, %s to %s, %.2f pps\n", p.Shard, p.Interface, p.Records, p.Packets, stamp(p.FirstFrameAt), stamp(p.LastFrameAt), p.PPS)
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}
