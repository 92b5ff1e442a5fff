package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// limitFlags are the coalescer's limits, shared by coalesce and inspect.
func limitFlags() []cli.Flag {
	d := coalesce.DefaultOptions()
	return []cli.Flag{
		&cli.StringFlag{Name: "order", Value: "per-flow", Usage: "per-flow: merge a flow's consecutive segments even with other flows in between (like GRO; order within each flow kept); strict: merge only packets adjacent in the capture (global order kept)"},
		&cli.IntFlag{Name: "max-bytes", Value: d.MaxBytes, Usage: "largest super-packet, in bytes of IP datagram, up to 1048576 (65535 keeps the IP length fields exact; above, BIG TCP: IPv4 total length and IPv6 payload length 0)"},
		&cli.IntFlag{Name: "max-segments", Value: d.MaxSegments, Usage: "most segments per super-packet (USO never more than 128; ~1000 overflows a receiver's backlog)"},
		&cli.DurationFlag{Name: "max-span", Value: d.MaxSpan, Usage: "longest time from first to last segment, so paced replay keeps the capture's timing; 0 = no limit"},
		&cli.IntFlag{Name: "max-held", Value: d.MaxHeld, Usage: "per-flow order: most records held back behind an open super-packet"},
		&cli.IntFlag{Name: "max-flows", Value: d.MaxFlows, Usage: "per-flow order: most super-packets open at once"},
		&cli.StringFlag{Name: "tunnel-gso", Value: "auto", Usage: "on: merge VXLAN (UDP 4789, 8472) and GENEVE (6081) packets by their inner TCP/UDP packets into UDP tunnel super-packets (a 24-byte virtio header, which only a tap takes, Linux 6.17+); off: merge them as plain UDP datagrams of the outer header, as before (needs a non-zero outer checksum); auto: on, except when replaying or verifying by packet socket"},
		&cli.BoolFlag{Name: "ipv6-jumbo", Usage: "write IPv6 TCP super-packets above 64 KiB with a Hop-by-Hop jumbo option, as Linux 6.0 to 6.19 hold BIG TCP (Wireshark reads them; payload length 0 alone it calls malformed): those kernels take it off before the frames leave; Linux 7.0 would copy it into every segment"},
	}
}

// inputAndOptions reads the one input and the coalescer's limits of a
// command that coalesces (coalesce, inspect).
func inputAndOptions(c *cli.Context) (string, coalesce.Options, error) {
	in, err := oneInput(c)
	if err != nil {
		return "", coalesce.Options{}, err
	}
	opts, err := optionsFrom(c)
	return in, opts, err
}

func optionsFrom(c *cli.Context) (coalesce.Options, error) {
	o := coalesce.Options{
		MaxBytes: c.Int("max-bytes"), MaxSegments: c.Int("max-segments"), MaxSpan: c.Duration("max-span"),
		MaxHeld: c.Int("max-held"), MaxFlows: c.Int("max-flows"), IPv6Jumbo: c.Bool("ipv6-jumbo"),
	}
	var err error
	if err = o.Order.UnmarshalText([]byte(c.String("order"))); err != nil {
		return o, flagError(c, err)
	}
	switch c.String("tunnel-gso") {
	case "auto", "on":
		o.TunnelGSO = true
	case "off":
	default:
		return o, usagef("--tunnel-gso %q: want auto, on or off", c.String("tunnel-gso"))
	}
	return o, flagError(c, o.Validate())
}

func coalesceCommand() *cli.Command {
	return &cli.Command{
		Name:      "coalesce",
		Usage:     "merge segments into GSO super-packets (pcapng with a virtio_net_hdr per record)",
		ArgsUsage: "IN",
		Description: `Reads IN (pcap or pcapng; Ethernet, Linux cooked SLL/SLL2 or raw IP) and writes
pcapng. Runs of a flow's TCP or UDP segments become one record holding the frame
the kernel would receive from AF_PACKET — the first segment's headers, the whole
payload, IP lengths of the whole, the L4 checksum seeded for NEEDS_CSUM — with its
virtio_net_hdr in the packet comment, for example:

  vnet flags=needs_csum gso=tcpv4 gso_size=1448 hdr_len=66 csum_start=34 csum_offset=16 segs=45 dt=1200,... skip=0,...

dt: nanoseconds between consecutive segments; skip: packets of other flows in
between (per-flow order only). A whole train of IPv4 fragments of one UDP
datagram, adjacent in the capture, becomes the datagram with gso=udp (UFO).
VXLAN and GENEVE packets merge by their inner TCP or UDP packets into UDP
tunnel super-packets (gso=udp_tunnel_ipv4+tcpv4 ... with outer_th= and
inner_nh=): the kernel's tunnel segmentation gives back every frame, outer
IPv4 IDs and checksums included; --tunnel-gso off merges them as the outer UDP
datagrams they are.
Packets that cannot be merged losslessly pass through unchanged; "gsoreplay
inspect" says why.

A pcapng capture keeps everything: its sections (the origin comment goes first
in each section header), interfaces, name resolution, statistics, decryption
secrets, custom and unknown blocks, in their places, and every packet's options
(flags, comments, hashes...). Segments merge only when their options are the
same; the super-packet carries them once, after its vnet comment, and segment
gives them back to each. Custom blocks of the do-not-copy type are dropped, as
the pcapng specification requires, and counted. Odd records that tcpdump and
Wireshark read (captured length above the original length, Simple and obsolete
Packet Blocks, padding that is not zero, timestamps finer than nanoseconds)
pass through as they were.

--format vnet writes raw records instead, what a tap opened with IFF_VNET_HDR
(Ethernet) or a tun (raw IP) takes one write() at a time: after a 16-byte file
header ("GSOVNET1", header size 10, link type), each record is a 4-byte
little-endian length, the 10-byte virtio_net_hdr (zeros for a packet passed
through) and the frame; with --tunnel-gso on the header is the 24-byte
virtio_net_hdr_v1_hash_tunnel (header size 24), which a tap takes after
TUNSETVNETHDRSZ 24 (any kernel; tunnel records need Linux 6.17). Timestamps and the places of per-flow merges between
other flows' packets are not kept: use --order strict where the global order
matters. "gsoreplay segment" and "gsoreplay replay" read such files.

  gsoreplay coalesce -o super.pcapng capture.pcap
  tcpdump -w - | gsoreplay coalesce --order strict -o - - > super.pcapng
  gsoreplay coalesce --format vnet --order strict -o super.vnet capture.pcap`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output `OUT` (- for standard output)"},
			compressFlag,
			&cli.StringFlag{Name: "format", Value: "pcapng", Usage: "pcapng (virtio headers in packet comments, timing kept) or vnet (raw virtio_net_hdr + frame records for a tap or a virtio harness)"},
			&cli.BoolFlag{Name: "json", Usage: "print the summary as JSON on standard output (needs -o FILE)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no summary"},
		}, append(limitFlags(), rewriteFlags()...)...),
		Action: func(c *cli.Context) error {
			in, opts, err := inputAndOptions(c)
			if err != nil {
				return err
			}
			ro, err := rewriteFrom(c)
			if err != nil {
				return err
			}
			if ro != nil && ro.PerFrame() {
				return usagef("coalesce: --mtu-trunc cuts frames one at a time, which then cannot merge: use it with replay or verify (they send frame by frame), or tcprewrite the capture first")
			}
			format := pcaps.FormatPcapNG
			switch c.String("format") {
			case "pcapng":
			case "vnet":
				format = pcaps.FormatVnet
			default:
				return usagef("--format %q: want pcapng or vnet", c.String("format"))
			}
			if c.Bool("json") && c.String("output") == "-" {
				return usagef("coalesce: --json needs -o FILE: standard output carries the capture")
			}
			w, commit, err := output(c, c.String("output"))
			if err != nil {
				return err
			}
			r, done, err := input(c, in, "coalescing")
			if err != nil {
				commit(false)
				return err
			}
			defer done()
			wo := pcaps.WriterOptions{Format: pcaps.FormatPcapNG, Comment: capfile.OriginOf(r).String(), Application: "gsoreplay"}
			if format == pcaps.FormatVnet {
				lt, err := pcaps.VnetLinkType(r)
				if err != nil {
					commit(false)
					return err
				}
				wo = pcaps.WriterOptions{Format: pcaps.FormatVnet, LinkType: lt}
				// The 24-byte header only when asked: harnesses of
				// vnet files read 10.
				opts.TunnelGSO = c.String("tunnel-gso") == "on"
				if opts.TunnelGSO {
					wo.VnetHeaderLen = gso.VnetTunnelHeaderLen
				}
			}
			pw := pcaps.NewWriter(w, wo)
			start := time.Now()
			var edits []func(*coalesce.Record)
			var rw *rewrite.Rewriter
			if ro != nil {
				if rw, err = rewrite.New(*ro); err != nil {
					commit(false)
					return rewriteValidateError(c, ro, err)
				}
				edits = append(edits, func(rec *coalesce.Record) { rw.Record(rec, rewrite.Primary) })
			}
			st, err := capfile.Coalesce(r, pw, opts, nil, edits...)
			if cerr := commit(err == nil); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			done()
			if rw != nil {
				unmatched(c, ro, rw.Stats)
			}
			sum := st.Summary(opts, time.Since(start))
			switch {
			case c.Bool("json"):
				return writeJSON(c.App.Writer, sum)
			case !c.Bool("quiet"):
				fmt.Fprintf(c.App.ErrWriter, "%d packets -> %d records: %d super-packets hold %d packets (%.1f%%), %d passed through",
					st.Packets, st.Records, st.SuperPackets, st.Merged, sum.MergedPercent, st.Records-st.SuperPackets)
				if st.Blocks > 0 {
					fmt.Fprintf(c.App.ErrWriter, "; %d other pcapng blocks kept", st.Blocks)
				}
				if st.NoCopyDropped > 0 {
					fmt.Fprintf(c.App.ErrWriter, "; %d do-not-copy custom blocks dropped (as pcapng requires)", st.NoCopyDropped)
				}
				fmt.Fprintln(c.App.ErrWriter)
			}
			return nil
		},
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
