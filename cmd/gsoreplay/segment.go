package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

func segmentCommand() *cli.Command {
	return &cli.Command{
		Name:      "segment",
		Usage:     "split super-packets back into the original frames (reference software GSO)",
		ArgsUsage: "IN.pcapng",
		Description: `Reads a capture written by "gsoreplay coalesce" and cuts every super-packet as
Linux's software GSO does (tcp_gso_segment, __udp_gso_segment): IPv4 ID+k, TCP seq,
FIN/PSH only on the last segment, CWR only on the first, lengths and full
checksums. Segments get their original timestamps, places and pcapng options, so
the output is the capture that was coalesced, byte for byte: a pcap with its
header, or a pcapng with every section, interface, block and option as written
(custom blocks of the do-not-copy type excepted: coalesce dropped them).

--format auto writes what the original was (pcap with its snap length and
timestamp resolution, or pcapng); pcap, pcapng force one.

  gsoreplay segment -o again.pcap super.pcapng
  cmp again.pcap capture.pcap`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output capture `OUT` (- for standard output)"},
			compressFlag,
			&cli.StringFlag{Name: "format", Value: "auto", Usage: "auto, pcap or pcapng"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no summary"},
		},
		Action: func(c *cli.Context) error {
			in, err := oneInput(c)
			if err != nil {
				return err
			}
			format := c.String("format")
			if format != "auto" && format != "pcap" && format != "pcapng" {
				return usagef("--format %q: want auto, pcap or pcapng", format)
			}
			w, commit, err := output(c, c.String("output"))
			if err != nil {
				return err
			}
			r, done, err := input(c, in, "segmenting")
			if err != nil {
				commit(false)
				return err
			}
			defer done()
			wo := pcaps.WriterOptions{Format: pcaps.FormatPcapNG, Nanosecond: true}
			src, known := capfile.ParseOrigin(r.SectionComment())
			switch {
			case format == "pcap":
				wo.Format = pcaps.FormatPcap
			case format == "auto" && known:
				wo = pcaps.WriterOptions{Format: src.Format, Nanosecond: src.Nanosecond, SnapLen: src.SnapLen}
			case format == "auto" && !strings.HasSuffix(c.String("output"), ".pcapng"):
				wo.Format = pcaps.FormatPcap
			}
			if len(r.Interfaces()) > 0 {
				wo.LinkType = r.Interfaces()[0].LinkType
			}
			rs, err := capfile.Restore(r, pcaps.NewWriter(w, wo), nil)
			if cerr := commit(err == nil); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if !c.Bool("quiet") {
				fmt.Fprintf(c.App.ErrWriter, "%d records (%d super-packets) -> %d packets", rs.Records-rs.Blocks, rs.Supers, rs.Emitted()-rs.Blocks)
				if rs.Blocks > 0 {
					fmt.Fprintf(c.App.ErrWriter, ", %d other pcapng blocks in their places", rs.Blocks)
				}
				fmt.Fprintln(c.App.ErrWriter)
			}
			return nil
		},
	}
}
