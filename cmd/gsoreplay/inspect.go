package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/inspect"
)

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
  gsoreplay inspect --json capture.pcap | jq .coalescing.merged_percent
  gsoreplay inspect --report capture.html capture.pcap   # the same, with charts`,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object instead of the table"},
			reportFlag,
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
			rep, err := inspect.Capture(r, opts)
			if err != nil {
				return err
			}
			done()
			if err := writePage(c, inspectPage(rep)); err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, rep)
			}
			printInspect(c.App.Writer, rep, opts)
			return nil
		},
	}
}

func printInspect(w io.Writer, rep *inspect.Report, o coalesce.Options) {
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
	printMetadata(tw, &rep.Metadata)
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
		for _, b := range s.SegmentBuckets() {
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

// printMetadata shows what the file carries besides packets, when it
// carries anything: sections, interfaces, other blocks, packet options, and
// the oddities read.
func printMetadata(w io.Writer, m *inspect.Metadata) {
	for i, s := range m.Sections {
		var parts []string
		for _, c := range s.Comments {
			parts = append(parts, fmt.Sprintf("comment %q", c))
		}
		for _, kv := range [][2]string{{"hardware", s.Hardware}, {"os", s.OS}, {"application", s.Application}} {
			if kv[1] != "" {
				parts = append(parts, fmt.Sprintf("%s %q", kv[0], kv[1]))
			}
		}
		if len(parts) == 0 {
			parts = append(parts, "no options")
		}
		fmt.Fprintf(w, "section %d\t%s\n", i+1, strings.Join(parts, ", "))
	}
	for i, in := range m.Interfaces {
		parts := []string{"timestamps in " + in.Resolution}
		for _, kv := range [][2]string{{"name", in.Name}, {"description", in.Description}, {"os", in.OS}, {"filter", in.Filter}} {
			if kv[1] != "" {
				parts = append(parts, fmt.Sprintf("%s %q", kv[0], kv[1]))
			}
		}
		for _, c := range in.Comments {
			parts = append(parts, fmt.Sprintf("comment %q", c))
		}
		fmt.Fprintf(w, "interface %d\t%s\n", i, strings.Join(parts, ", "))
	}
	var blocks []string
	for _, kv := range []struct {
		name string
		n    int64
	}{
		{"name resolution", m.NameResolution}, {"interface statistics", m.InterfaceStatistics},
		{"decryption secrets", m.DecryptionSecrets}, {"custom", m.Custom}, {"custom do-not-copy", m.CustomNoCopy},
		{"unknown type", m.Unknown}, {"simple packet", m.SimplePackets}, {"obsolete packet", m.ObsoletePackets},
	} {
		if kv.n > 0 {
			blocks = append(blocks, fmt.Sprintf("%s %d", kv.name, kv.n))
		}
	}
	if len(blocks) > 0 {
		fmt.Fprintf(w, "other blocks\t%s\n", strings.Join(blocks, ", "))
	}
	if m.PacketOptions > 0 {
		fmt.Fprintf(w, "packet options\t%d packets carry options (comments, flags, hashes, ...)\n", m.PacketOptions)
	}
	var odd []string
	for _, kv := range []struct {
		name string
		n    int64
	}{
		{"captured length above the original", m.CapturedOverOriginal}, {"padding not zero", m.OddPadding},
		{"timestamp finer than nanoseconds", m.InexactTimestamps},
	} {
		if kv.n > 0 {
			odd = append(odd, fmt.Sprintf("%s %d", kv.name, kv.n))
		}
	}
	if len(odd) > 0 {
		fmt.Fprintf(w, "oddities\t%s (read, passed through unchanged)\n", strings.Join(odd, ", "))
	}
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
	sortByCount(keys, m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// sortByCount sorts keys by their counts in m, most first, then by name.
func sortByCount(keys []string, m map[string]int64) {
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
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
