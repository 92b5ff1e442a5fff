package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"github.com/vishvananda/netlink"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/internal/htmlreport"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/probe"
	"github.com/gsoreplay/gsoreplay/replay/split"
	"github.com/gsoreplay/gsoreplay/replay/verify"
)

// pacingFlags are tcpreplay's timing flags, with its short names.
func pacingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Float64Flag{Name: "multiplier", Aliases: []string{"x"}, Usage: "replay the capture's timing `X` times as fast (default: original timing)"},
		&cli.Float64Flag{Name: "pps", Aliases: []string{"p"}, Usage: "send `N` frames per second (frames on the wire, after segmentation)"},
		&cli.Float64Flag{Name: "mbps", Aliases: []string{"M"}, Usage: "send `N` megabits per second of frames"},
		&cli.BoolFlag{Name: "topspeed", Aliases: []string{"t"}, Usage: "send as fast as the kernel takes them"},
		&cli.IntFlag{Name: "pps-multi", Usage: "with --pps, send frames in groups of `N`, each group at once (longer, more accurate waits at high rates)"},
		&cli.IntFlag{Name: "maxsleep", Usage: "never pause more than `MS` milliseconds between packets of the capture; unlike tcpreplay, what follows a shortened pause moves up with it, so only the long pauses shrink"},
	}
}

func pacingFrom(c *cli.Context) (replay.Pacing, error) {
	p := replay.Pacing{Multiplier: c.Float64("multiplier"), PPS: c.Float64("pps"), Mbps: c.Float64("mbps"), Topspeed: c.Bool("topspeed"),
		PPSMulti: c.Int("pps-multi"), MaxSleep: time.Duration(c.Int("maxsleep")) * time.Millisecond}
	switch {
	case c.IsSet("pps-multi") && (p.PPS == 0 || p.PPSMulti < 1):
		return p, usagef("--pps-multi %d: want 1 or more, with --pps", p.PPSMulti)
	case c.Int("maxsleep") < 0:
		return p, usagef("--maxsleep %d: want milliseconds, 0 or more", c.Int("maxsleep"))
	}
	switch err := p.Validate(); {
	case errors.Is(err, replay.ErrPacingModes):
		return p, usagef("%s: choose one of --multiplier, --pps, --mbps, --topspeed", c.Command.Name)
	case err != nil:
		return p, usagef("%s: %v", c.Command.Name, err)
	}
	return p, nil
}

// sourceFrom reads the flags that decide how a capture becomes items.
func sourceFrom(c *cli.Context) (replay.SourceOptions, error) {
	o, err := optionsFrom(c)
	if err != nil {
		return replay.SourceOptions{}, err
	}
	so := replay.SourceOptions{Coalesce: o, NoCoalesce: c.Bool("no-coalesce"), MSS: c.Int("mss")}
	if so.Rewrite, err = rewriteFrom(c); err != nil {
		return so, err
	}
	return so, flagError(c, so.Validate())
}

// threadFlags choose the pipelines of replay and verify.
func threadFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "threads", DefaultText: "with -K one per CPU the process may use, else one per two", Usage: "`N` pipelines (read, coalesce, send) that share the capture by connection, each with its own socket; 1 keeps the capture's global order, more keep the order within each connection"},
		&cli.StringFlag{Name: "cpus", Usage: "pin the pipelines to the CPUs in `LIST` (0,2 or 0-3); --threads defaults to their number"},
	}
}

// threadsFrom reads --threads and --cpus.
func threadsFrom(c *cli.Context) (int, []int, error) {
	n := c.Int("threads")
	if c.IsSet("threads") && (n < 1 || n > replay.MaxThreads) {
		return 0, nil, usagef("--threads %d: want 1..%d", n, replay.MaxThreads)
	}
	cpus, err := replay.ParseCPUs(c.String("cpus"))
	if err != nil {
		return 0, nil, flagError(c, err)
	}
	return n, cpus, nil
}

// viaFrom reads --via and settles --tunnel-gso auto with it: tunnel
// super-packets go by tap only.
func viaFrom(c *cli.Context, co *coalesce.Options) (replay.Via, error) {
	via, err := replay.ParseVia(c.String("via"))
	if err != nil {
		return via, flagError(c, err)
	}
	if via != replay.ViaTap {
		if c.String("tunnel-gso") == "on" {
			return via, usagef("--tunnel-gso on needs --via tap: a packet socket takes no tunnel header")
		}
		co.TunnelGSO = false
	}
	return via, nil
}

func sourceFlags() []cli.Flag {
	return append(append([]cli.Flag{
		&cli.StringFlag{Name: "via", Value: "packet", Usage: "the way in: packet (an AF_PACKET socket on the interface) or tap (a tap with IFF_VNET_HDR redirected to the interface by tc, the path of a VM's virtio-net; it alone takes UDP tunnel super-packets, Linux 6.17+)"},
		&cli.IntFlag{Name: "mss", Usage: "gso_size for frames captured whole on a TSO/GRO host (default: the flow's SYN MSS option, else its full-size segments, else the egress MTU)"},
		&cli.BoolFlag{Name: "no-coalesce", Usage: "send a raw capture frame by frame (still batched), without merging"},
	}, limitFlags()...), rewriteFlags()...)
}

// opener reopens the input for every loop.
func opener(c *cli.Context, path string) (replay.Opener, error) {
	if path == "-" {
		return nil, usagef("%s: the input must be a file (it is read once per loop and per check)", c.Command.Name)
	}
	return func() (*pcaps.Reader, error) { return openCapture(path, pcaps.OpenOptions{}) }, nil
}

// dualOpener opens two captures as one, in timestamp order (--dualfile).
func dualOpener(c *cli.Context, a, b string) (replay.Opener, error) {
	oa, err := opener(c, a)
	if err != nil {
		return nil, err
	}
	ob, err := opener(c, b)
	if err != nil {
		return nil, err
	}
	return func() (*pcaps.Reader, error) {
		ra, err := oa()
		if err != nil {
			return nil, err
		}
		rb, err := ob()
		if err != nil {
			ra.Close()
			return nil, err
		}
		return pcaps.Merge(ra, rb), nil
	}, nil
}

// signalContext is cancelled by Ctrl-C or SIGTERM, so that labs and sockets
// are torn down and the report still printed.
func signalContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
}

// progress shows frames sent on a terminal, or, with --stats N,
// tcpreplay's statistics every N seconds on standard error.
func progress(c *cli.Context, what string) (func(frames, bytes int64), func()) {
	if every := c.Int("stats"); every > 0 {
		return statsEvery(c.App.ErrWriter, time.Duration(every)*time.Second), func() {}
	}
	if !isTerminal(c.App.ErrWriter) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(c.App.ErrWriter),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("frames"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish())
	return func(n, _ int64) { bar.Set64(n) }, func() { bar.Finish() }
}

// statsEvery returns a progress function that writes tcpreplay's "Test
// start" line when the first frame has left, then its "Actual" and
// "Rated" lines, counted from then, every time every has passed.
func statsEvery(w io.Writer, every time.Duration) func(frames, bytes int64) {
	var start, last time.Time
	return func(frames, bytes int64) {
		now := time.Now()
		switch {
		case start.IsZero():
			if frames > 0 {
				start, last = now, now
				fmt.Fprintf(w, "Test start: %s ...\n", now.Format("2006-01-02 15:04:05.000000000"))
			}
		case now.Sub(last) >= every:
			last = now
			tcpreplayStats(w, frames, bytes, now.Sub(start))
		}
	}
}

// tcpreplayStats writes tcpreplay 4.6's "Actual" and "Rated" lines
// (packet_stats), its integer arithmetic and all.
func tcpreplayStats(w io.Writer, frames, bytes int64, d time.Duration) {
	us := d.Microseconds()
	if d >= time.Second {
		fmt.Fprintf(w, "Actual: %d packets (%d bytes) sent in %d.%02d seconds\n", frames, bytes, d/time.Second, (d%time.Second)/(10*time.Millisecond))
	} else {
		fmt.Fprintf(w, "Actual: %d packets (%d bytes) sent in %d.%06d seconds\n", frames, bytes, d/time.Second, (d%time.Second)/time.Microsecond)
	}
	var bps, pps10, mbX1000 int64
	if us > 0 && frames > 0 && bytes > 0 {
		bps = bytes * 10 * 1000 * 1000 / us // tenths of bytes a second
		pps10 = frames * 100 * 1000 * 1000 / us
		if bytes > 1000*1000*1000 && us > 1000*1000 {
			bps, pps10 = bytes*10*1000/(us/1000), frames*100*1000/(us/1000)
		}
		mbX1000 = bps / 10 * 8 / 1000
	}
	if mbX1000/1000 >= 1 {
		fmt.Fprintf(w, "Rated: %d.%d Bps, %d.%02d Mbps, %d.%02d pps\n", bps/10, bps%10, mbX1000/1000, mbX1000/10%100, pps10/100, pps10%100)
	} else {
		fmt.Fprintf(w, "Rated: %d.%d Bps, %d.%03d Mbps, %d.%02d pps\n", bps/10, bps%10, mbX1000/1000, mbX1000%1000, pps10/100, pps10%100)
	}
}

// tcpreplayFlows writes tcpreplay 4.6's "Flows:" line, its integer
// arithmetic for the flows per second included.
func tcpreplayFlows(w io.Writer, f *replay.FlowStats, d time.Duration) {
	var fps100 int64
	if us := d.Microseconds(); us > 0 {
		fps100 = f.Flows * 100 * 1000 * 1000 / us
	}
	if f.ExpirySeconds > 0 {
		fmt.Fprintf(w, "Flows: %d flows, %d unique, %d expired, %d.%02d fps, %d unique flow packets, %d unique non-flow packets\n",
			f.Flows, f.Unique, f.Expired, fps100/100, fps100%100, f.FlowPackets, f.NonFlowPackets)
	} else {
		fmt.Fprintf(w, "Flows: %d flows, %d.%02d fps, %d unique flow packets, %d unique non-flow packets\n",
			f.Flows, fps100/100, fps100%100, f.FlowPackets, f.NonFlowPackets)
	}
	if f.Incomplete {
		fmt.Fprintf(w, "Flows: the table stopped at %d flows; later new flows are not counted\n", replay.MaxFlows)
	}
}

func replayCommand() *cli.Command {
	return &cli.Command{
		Name:      "replay",
		Usage:     "send a capture through an interface as GSO super-packets (root or CAP_NET_RAW)",
		ArgsUsage: "IN",
		Description: `Sends IN through IFACE with an AF_PACKET socket and PACKET_VNET_HDR, in sendmmsg
batches, so that the kernel (or the NIC) segments the super-packets. IN is a raw
capture, coalesced on the fly as it streams, or a pcapng or vnet file from
"gsoreplay coalesce" (a vnet file has no timing: it goes at top speed unless
--pps or --mbps pace it).
Frames captured whole on a TSO/GRO host (far above the MTU, partial checksums)
leave as super-packets too, with gso_size from the flow's SYN MSS option, its
full-size segments, the egress MTU, or --mss.

--via tap sends through a tap redirected to IFACE (tc: u32 and mirred) instead
of a packet socket: the path of a VM's virtio-net, and the only one that takes
UDP tunnel super-packets (VXLAN, GENEVE merged by their inner packets; Linux
6.17+; --tunnel-gso).

Timing is tcpreplay's: the capture's own (default, anchored so that it does not
drift), --multiplier, --pps, --mbps or --topspeed. The report counts frames on the
wire and checks them against the interface's own tx counters; refused sends are
counted by errno (a frame above the MTU that is not GSO: EMSGSIZE), never fatal.

--threads N runs N pipelines, each reading, coalescing and sending its share of
the connections on a socket of its own. Default: with -K one per CPU the process
may use; streaming, one per two, as a streaming pipeline reads, coalesces and
sends in stages of their own, which keep two CPUs busy. Both directions of a
connection go to one pipeline, so the order within each connection is exact;
frames of no connection (ARP, fragments) keep their order in the first.
--shard K/N sends share K of N of the connections, by the same rule, so that N
processes (on as many hosts, each with its own NIC) replay one capture together;
frames of no connection go with shard 0. --start-at TIME (RFC 3339, or +10s)
makes each wait, once ready, for one wall-clock instant and anchors the
capture's timing to it: with clocks synchronized (PTP, NTP) the shards keep the
capture's relative timing between them. --pps-total makes --pps and --mbps the
rate of all shards together. "gsoreplay report merge" adds their --json
reports up and checks that every record was sent by exactly one shard.
examples/ has a Kubernetes Indexed Job and an ssh script that launch them.

The report ends as tcpreplay's does, its "Flows:" line included (flows are
directional address, port and protocol tuples, counted as tcpreplay 4.6 does;
--flow-expiry, --no-flow-stats). --dualfile (-2) replays two captures at once,
the first by -i and the second by -I, merged by timestamp.

--threads 1 keeps the capture's global order. Pacing runs on one clock for all
(--pps and --mbps count the frames of all pipelines together). Streaming, each
new connection goes to the pipeline with the least work so far; -K spreads the
connections by their size, and holds the capture in huge pages (transparent huge
pages, "madvise"), which the kernel copies from about 8x faster than from
ordinary memory on virtual machines.

  gsoreplay replay -i eth1 capture.pcap
  gsoreplay replay -i eth1 --topspeed -K --loop 0 --duration 30s capture.pcap
  gsoreplay replay -i eth1 --mbps 900 --json super.pcapng | jq .pps
  gsoreplay replay -i eth1 --pps 100000 --report run.html capture.pcap   # charts: rate, send-time error
  gsoreplay replay -i eth1 --shard 1/3 --start-at 2026-12-05T10:00:00Z --json cap.pcap

Needs CAP_NET_RAW (root). Exit status: 0 when every frame was sent and counted,
1 otherwise, 2 on bad usage.`,
		Flags: append(append([]cli.Flag{
			&cli.StringFlag{Name: "intf1", Aliases: []string{"i", "iface"}, Usage: "send on interface `IFACE` (required)"},
			&cli.IntFlag{Name: "loop", Aliases: []string{"l"}, Value: 1, Usage: "send the capture `N` times; 0 loops until --limit, --duration or Ctrl-C"},
			&cli.Int64Flag{Name: "limit", Aliases: []string{"L"}, Usage: "stop after `N` frames on the wire"},
			&cli.DurationFlag{Name: "duration", Usage: "stop after `D` (e.g. 10s)"},
			&cli.BoolFlag{Name: "preload-pcap", Aliases: []string{"K"}, Usage: "read (and coalesce) the whole capture into huge-page memory before sending, so that sends cost nothing but the kernel's work (up to 2 GiB)"},
			&cli.IntFlag{Name: "batch", Value: 32, Usage: "most messages per sendmmsg"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as one JSON object on standard output"},
			reportFlag,
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no report unless something failed"},
			&cli.StringFlag{Name: "shard", Usage: "send only share `K/N` of the capture's connections (both directions), one of N processes that send it together; frames of no connection go with 0/N"},
			&cli.StringFlag{Name: "start-at", Usage: "start at wall-clock `TIME` (RFC 3339, e.g. 2026-12-05T10:00:00.000000Z, or +DURATION from now) and anchor the capture's timing to it: shards on hosts with synchronized clocks start together"},
			&cli.IntFlag{Name: "loopdelay-ms", Usage: "pause `MS` milliseconds between loops (needs --loop)"},
			&cli.Int64Flag{Name: "loopdelay-ns", Usage: "pause `NS` nanoseconds between loops (needs --loop; not with --loopdelay-ms)"},
			&cli.BoolFlag{Name: "unique-ip", Usage: "give every loop after the first addresses of its own, as tcpreplay does: source and destination (IPv4, the last 32 bits of IPv6) move apart by the loop's shift, their sum and so every checksum unchanged, merges intact; frames that are not IP go unchanged (tcpreplay drops them)"},
			&cli.Float64Flag{Name: "unique-ip-loops", Usage: "with --unique-ip, a new shift every `N` loops (1)"},
			&cli.BoolFlag{Name: "oneatatime", Aliases: []string{"o"}, Usage: "step through the capture: before a packet, ask on standard input how many to send (Enter: one; end of input stops), as tcpreplay does; packets go alone, uncoalesced, in the capture's order (a coalesced file's super-packets and frames captured whole on a TSO host are one step each)"},
			&cli.BoolFlag{Name: "listnics", Usage: "list the interfaces one could send on (not loopback), one a line, as tcpreplay does, and exit"},
			&cli.BoolFlag{Name: "dualfile", Aliases: []string{"2"}, Usage: "replay two captures at once, the first by -i and the second by -I, in the order of their timestamps (tcpreplay's; the first's packet first on a tie)"},
			&cli.BoolFlag{Name: "no-flow-stats", Usage: "do not count flows (the report's Flows line, --json's flows): saves a table lookup per packet when streaming"},
			&cli.IntFlag{Name: "flow-expiry", Usage: "a flow idle for more than `SECONDS` of capture time counts as a new one when it resumes (tcpreplay's; 0: never)"},
			&cli.IntFlag{Name: "stats", Usage: "print tcpreplay's statistics (Actual, Rated) on standard error every `N` seconds while sending"},
			&cli.BoolFlag{Name: "pps-total", Usage: "with --shard, --pps and --mbps are the rate of all N shards together: this one sends 1/N of it"},
		}, pacingFlags()...), append(append(threadFlags(), sourceFlags()...), splitFlags()...)...),
		Action: func(c *cli.Context) error {
			if c.Bool("listnics") {
				return listNICs(c.App.Writer)
			}
			dual := c.Bool("dualfile")
			var in string
			var err error
			if dual {
				if c.NArg() != 2 || c.String("intf2") == "" || c.IsSet("cachefile") || c.IsSet("split") {
					return usagef("replay --dualfile: two captures, one for -i and one for -I IFACE2 (and no --cachefile or --split)")
				}
				in = c.Args().Get(0) + "+" + c.Args().Get(1)
			} else if in, err = oneInput(c); err != nil {
				return err
			}
			if c.String("intf1") == "" {
				return usagef("replay: missing -i IFACE, the interface to send on")
			}
			o := replay.Options{Loops: c.Int("loop"), Limit: c.Int64("limit"), Duration: c.Duration("duration"), Batch: c.Int("batch"), Preload: c.Bool("preload-pcap")}
			if o.Threads, o.CPUs, err = threadsFrom(c); err != nil {
				return err
			}
			if o.Pacing, err = pacingFrom(c); err != nil {
				return err
			}
			if o.Source, err = sourceFrom(c); err != nil {
				return err
			}
			if o.Via, err = viaFrom(c, &o.Source.Coalesce); err != nil {
				return err
			}
			if err := batchFlag(c); err != nil {
				return err
			}
			if err := partFrom(c, &o); err != nil {
				return err
			}
			o.FlowStats, o.FlowExpiry = !c.Bool("no-flow-stats"), c.Int("flow-expiry")
			if c.IsSet("flow-expiry") && !o.FlowStats {
				return usagef("--flow-expiry counts flows: not with --no-flow-stats")
			}
			if c.Int("stats") < 0 {
				return usagef("--stats %d: want seconds, 1 or more", c.Int("stats"))
			}
			if o.LoopDelay, err = loopDelayFrom(c); err != nil {
				return err
			}
			o.UniqueIP, o.UniqueLoops = c.Bool("unique-ip"), c.Float64("unique-ip-loops")
			switch {
			case c.IsSet("unique-ip-loops") && !o.UniqueIP:
				return usagef("--unique-ip-loops needs --unique-ip")
			case c.IsSet("unique-ip-loops") && (o.UniqueLoops < 1 || o.UniqueLoops > 1e9):
				return usagef("--unique-ip-loops %v: want 1 or more", o.UniqueLoops)
			}
			if c.Bool("oneatatime") {
				if c.IsSet("multiplier") || c.IsSet("pps") || c.IsSet("mbps") || c.IsSet("topspeed") || c.IsSet("shard") {
					return usagef("--oneatatime: you are the clock; no --multiplier, --pps, --mbps, --topspeed or --shard")
				}
				if c.IsSet("threads") && o.Threads != 1 {
					return usagef("--oneatatime goes through the capture in its order: --threads 1")
				}
				o.Threads, o.Source.NoCoalesce = 1, true
				o.Step = stepper(os.Stdin, c.App.Writer, c.String("intf1"))
			}
			if err := flagError(c, o.Validate()); err != nil {
				return err
			}
			var open replay.Opener
			if dual {
				o.Source.Split = split.Dual{}
				open, err = dualOpener(c, c.Args().Get(0), c.Args().Get(1))
			} else {
				if o.Source.Split, err = splitFrom(c, in, false); err != nil {
					return inputError(err)
				}
				open, err = opener(c, in)
			}
			if err != nil {
				return err
			}
			o.Iface2 = c.String("intf2")
			if r, err := open(); err != nil { // fail on a bad input before touching the interface
				return inputError(err)
			} else {
				r.Close()
			}
			ctx, cancel := signalContext(c)
			defer cancel()
			var finish func()
			o.Progress, finish = progress(c, "replaying")
			rep, err := replay.Replay(ctx, in, open, c.String("intf1"), o)
			finish()
			if err != nil && (rep == nil || !rep.Interrupted) {
				return inputError(err)
			}
			if err := writePage(c, replayPage(rep)); err != nil {
				return err
			}
			if c.Bool("json") {
				if err := writeJSONLine(c.App.Writer, rep); err != nil {
					return err
				}
			} else if !c.Bool("quiet") || rep.Failed > 0 || rep.IfaceCheck == replay.IfaceShort {
				printReplay(c.App.Writer, rep)
			} else if rep.HostBacklogDrops > 0 {
				fmt.Fprintf(c.App.ErrWriter, "gsoreplay: warning: %d frames dropped by %s\n", rep.HostBacklogDrops, backlogWhy)
			}
			switch {
			case ctx.Err() != nil:
				return fmt.Errorf("replay %s: interrupted after %d packets: %w", in, rep.Packets, ctx.Err())
			case rep.Failed > 0:
				return fmt.Errorf("%d of %d sends refused by the kernel", rep.Failed, rep.Sends+rep.Failed)
			case rep.IfaceCheck == replay.IfaceShort:
				return fmt.Errorf("%s counted %d frames (%d dropped), %d were sent", rep.Interface, rep.IfaceTxPackets, rep.IfaceTxDropped, rep.Packets)
			}
			return nil
		},
	}
}

// stepper asks on out, and reads on in, how many packets to send next, as
// tcpreplay's --oneatatime does, and says which one leaves; the end of in
// stops the replay.
func stepper(in io.Reader, out io.Writer, iface string) func(n int64) (int64, error) {
	r := bufio.NewReader(in)
	return func(n int64) (int64, error) {
		fmt.Fprintf(out, "**** Next packet #%d out %s.  How many packets do you wish to send? ", n, iface)
		line, err := r.ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(out)
			return 0, replay.ErrStop
		}
		k, _ := strconv.ParseInt(strings.TrimSpace(line), 0, 64)
		k = max(k, 1) // Enter, 0 or not a number: one
		for i := range k {
			fmt.Fprintf(out, "Sending packet %d out: %s\n", n+i, iface)
		}
		return k, nil
	}
}

// listNICs prints tcpreplay's --listnics: the interfaces of this
// namespace but loopback, from netlink (tcpreplay asks libpcap, which
// adds pseudo-devices such as "any").
func listNICs(w io.Writer) error {
	links, err := netlink.LinkList()
	if err != nil {
		return fmt.Errorf("listnics: %w", err)
	}
	fmt.Fprintln(w, "Available network interfaces:")
	for _, l := range links {
		if a := l.Attrs(); a.Flags&net.FlagLoopback == 0 {
			fmt.Fprintln(w, a.Name)
		}
	}
	return nil
}

// loopDelayFrom reads tcpreplay's --loopdelay-ms or --loopdelay-ns.
func loopDelayFrom(c *cli.Context) (time.Duration, error) {
	ms, ns := c.Int("loopdelay-ms"), c.Int64("loopdelay-ns")
	switch {
	case c.IsSet("loopdelay-ms") && c.IsSet("loopdelay-ns"):
		return 0, usagef("--loopdelay-ms or --loopdelay-ns, not both")
	case ms < 0 || ns < 0:
		return 0, usagef("--loopdelay-ms and --loopdelay-ns want 0 or more")
	case (c.IsSet("loopdelay-ms") || c.IsSet("loopdelay-ns")) && !c.IsSet("loop"):
		return 0, usagef("--loopdelay-ms and --loopdelay-ns need --loop")
	}
	return time.Duration(ms)*time.Millisecond + time.Duration(ns), nil
}

// partFrom reads --shard, --start-at and --pps-total into o.
func partFrom(c *cli.Context, o *replay.Options) error {
	if v := c.String("shard"); v != "" {
		p, err := replay.ParsePart(v)
		if err != nil {
			return usagef("--shard %s: want K/N with 0 <= K < N <= %d (e.g. 0/3)", v, replay.MaxParts)
		}
		o.Part = p
	}
	if c.Bool("pps-total") {
		if o.Part.N < 1 {
			return usagef("--pps-total needs --shard")
		}
		if o.Pacing.PPS == 0 && o.Pacing.Mbps == 0 {
			return usagef("--pps-total needs --pps or --mbps")
		}
		o.Pacing.PPS /= float64(o.Part.N)
		o.Pacing.Mbps /= float64(o.Part.N)
	}
	if v := c.String("start-at"); v != "" {
		t, err := parseStartAt(v, time.Now())
		if err != nil {
			return usagef("--start-at %s: %v", v, err)
		}
		o.StartAt = t
	}
	return nil
}

// parseStartAt reads an RFC 3339 time (any sub-second precision) or
// "+DURATION" from now.
func parseStartAt(v string, now time.Time) (time.Time, error) {
	if d, ok := strings.CutPrefix(v, "+"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil || dur < 0 {
			return time.Time{}, fmt.Errorf("want +DURATION (e.g. +10s)")
		}
		return now.Add(dur).Round(0), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 (e.g. 2026-12-05T10:00:00.000000Z) or +DURATION")
	}
	return t, nil
}

// batchFlag refuses --batch 0, which the library would take for its
// default.
func batchFlag(c *cli.Context) error {
	if n := c.Int("batch"); n < 1 {
		return usagef("--batch %d: want 1..%d", n, replay.MaxBatch)
	}
	return nil
}

// printReplay writes the report the way tcpreplay users read it.
func printReplay(w io.Writer, r *replay.Report) {
	if r.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: what follows is what was sent until then")
	}
	fmt.Fprintf(w, "Actual: %d packets (%d bytes) sent in %.3f seconds", r.Packets, r.Bytes, r.Seconds)
	if r.Loops > 1 {
		fmt.Fprintf(w, " (%d loops)", r.Loops)
	}
	fmt.Fprintf(w, "\nRated: %.1f Bps, %.2f Mbps, %.2f pps\n", r.Mbps*1e6/8, r.Mbps, r.PPS)
	if f := r.Flows; f != nil && f.Flows > 0 && r.Bytes > 0 {
		tcpreplayFlows(w, f, time.Duration(r.Seconds*float64(time.Second)))
	}
	fmt.Fprintf(w, "GSO: %d sends carried them (%d super-packets", r.Sends, r.SuperPackets)
	if r.Resegmented > 0 {
		fmt.Fprintf(w, ", %d of them frames captured whole on a TSO/GRO host", r.Resegmented)
	}
	fmt.Fprintf(w, ") in %d syscalls", r.Syscalls)
	if r.Threads > 1 {
		fmt.Fprintf(w, " on %d threads", r.Threads)
	}
	fmt.Fprintln(w)
	if r.EndDriftMS != 0 {
		fmt.Fprintf(w, "Timing: the last send left %.3f ms after its scheduled time\n", r.EndDriftMS)
	}
	if p := r.Part; p != nil {
		fmt.Fprintf(w, "Shard: %s, %d of the capture's %d records (fingerprint %s of %s; gsoreplay report merge adds them up)\n", p.Part, p.Packets, p.CapturePackets, p.Fingerprint, p.CaptureFingerprint)
	}
	fmt.Fprintf(w, "Statistics for network device: %s\n", r.Interface)
	fmt.Fprintf(w, "\tSuccessful packets:        %d\n", r.Packets)
	fmt.Fprintf(w, "\tFailed sends:              %d\n", r.Failed)
	for _, name := range sortedKeys(r.Errors) {
		fmt.Fprintf(w, "\t  %-8s %6d  %s\n", name, r.Errors[name], replay.ErrnoMeaning(name))
	}
	fmt.Fprintf(w, "\tRetried packets (ENOBUFS): %d\n", r.Retried)
	if r.Skipped > 0 {
		fmt.Fprintf(w, "\tSkipped (link type):       %d\n", r.Skipped)
	}
	check := map[replay.IfaceCheck]string{replay.IfaceOK: "matches", replay.IfaceWhole: "counted the super-packets whole (the device takes GSO frames: TSO on?)", replay.IfaceShort: "MISSING FRAMES"}[r.IfaceCheck]
	fmt.Fprintf(w, "\tInterface tx counters:     %d packets, %d bytes, %d dropped: %s\n", r.IfaceTxPackets, r.IfaceTxBytes, r.IfaceTxDropped, check)
	for i, s := range r.Sides {
		fmt.Fprintf(w, "\t  %-9s %-13s %d packets sent; tx counters %d packets, %d dropped: %s\n",
			[]string{"primary", "secondary"}[i], s.Interface+":", s.Packets, s.IfaceTxPackets, s.IfaceTxDropped, s.IfaceCheck)
	}
	if r.Unsent > 0 {
		fmt.Fprintf(w, "\tNot sent (cache file):     %d\n", r.Unsent)
	}
	if r.HostBacklogDrops > 0 {
		fmt.Fprintf(w, "\tHost backlog drops:        %d (%s)\n", r.HostBacklogDrops, backlogWhy)
	}
}

// backlogWhy explains Report.HostBacklogDrops.
const backlogWhy = "this host's receive backlogs overflowed during the replay: on a veth or tap, frames its peer lost; see net.core.netdev_max_backlog"

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeJSONLine writes v as one line: one object per input, for jq and
// line-oriented scripts.
func writeJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// inputError makes a capture that cannot be read a usage-class error (exit
// status 2), as verify documents.
func inputError(err error) error {
	var pe *fs.PathError
	for _, class := range []error{pcaps.ErrNotCapture, pcaps.ErrTruncated, pcaps.ErrCorrupt, pcaps.ErrTooLarge} {
		if errors.Is(err, class) {
			return usageError{err.Error()}
		}
	}
	if errors.As(err, &pe) && pe.Op == "open" {
		return usageError{err.Error()}
	}
	return err
}

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "replay captures in a private lab and prove the output equals them (root)",
		ArgsUsage: "[IN...]",
		Description: `Builds a lab of its own — two network namespaces joined by a veth pair, the
sender's offloads off, IPv6 off so that nothing else is sent — replays each IN
as GSO super-packets, captures every frame the kernel segments on a TPACKET_V3
ring, compares them with the expected frames and tears everything down, also on
Ctrl-C or error. Nothing it sends leaves the lab. With no IN it verifies a
built-in sample of real kernel traffic.

Every frame is classified: exact; normalized (the original could not be
reproduced and the report says why, e.g. a super-frame captured whole on a TSO
host, now the segments its MSS implies); mismatched (first differing fields
named, captured value first: "IPv4 ID 0x1c2e != 0x1c2f at frame 812");
missing; extra. Drops seen by the capture socket (PACKET_STATISTICS), the
interfaces or /proc/net/softnet_stat make the verdict "lost". Order is checked
within each flow, and globally with --order strict. Like replay, verify runs
--threads pipelines (one with --order strict, which keeps the global order).

  gsoreplay verify                              # the built-in sample
  gsoreplay verify --json capture.pcap super.pcapng
  gsoreplay verify --keep out/ capture.pcap     # out/capture.captured.pcapng, .mismatched.pcapng
  gsoreplay verify --report verify.html a.pcap b.pcap   # one page with charts, a section per input
  gsoreplay verify --iface eth1 --capture-iface eth2 capture.pcap   # two cabled NIC ports

--gro checks the receive side instead. Each IN is sent frame by frame, as
captured, into a lab receiver running GRO (gro on, --gro-flush-timeout and
--napi-defer-hard-irqs so that back-to-back frames meet in one NAPI poll); a
packet socket with PACKET_VNET_HDR captures what GRO hands up with its virtio
header. Every GRO packet is segmented by the reference segmenter with its
gso_size: lossless when that gives back the very frames it replaced, lossy
otherwise (first differing fields named). The report compares GRO's merges
with coalesce's on the same frames, and --keep DIR writes what GRO made as a
coalesced pcapng (DIR/NAME.gro.pcapng) that "gsoreplay segment" turns back
into the input. With --iface and --capture-iface the receiver is a real NIC's
GRO or LRO. Exit 0 only when every GRO packet is lossless and nothing was lost.

  gsoreplay verify --gro capture.pcap
  gsoreplay verify --gro --json --keep out/ capture.pcap

--forward checks a router in the middle: the lab gets a third namespace, and
the receiver's side becomes a router (IPv4 and IPv6 forwarding, default routes
to the receiver through a permanent neighbour, no addresses of its own) with
GRO at its ingress as for --gro (rx-udp-gro-forwarding on; --gro-list adds
fraglist GRO) and, at its egress, software GSO (--egress gso, the default) or
TSO (--egress tso: GRO packets cross whole and the receiver checks them with
the reference segmentation). Each IN is sent frame by frame (or --coalesce'd)
with the router's MAC as destination; the receiver must get every frame a
router forwards with exactly the routing's edits — MACs replaced, TTL or hop
limit down by one, the IPv4 header checksum updated as the kernel does
(ip_decrease_ttl), Ethernet padding gone — and nothing else. Frames no router
forwards (not IP, TTL 1, multicast, link-local IPv6) are counted apart. What the
router's GRO made is captured too and checked as --gro checks it, so that a
changed frame is placed at GRO (inside a lossy GRO packet) or after it (a
lossless merge cut wrong, or the route). --keep DIR writes DIR/NAME.gro.pcapng
(the router's GRO packets) and DIR/NAME.forwarded.pcapng (what the receiver
got). With --iface, --capture-iface and --router-mac your own router sits
between two ports; only its output is seen, and its egress MAC is taken from
the first frame it forwards.

  gsoreplay verify --forward capture.pcap
  gsoreplay verify --forward --egress tso --json capture.pcap
  gsoreplay verify --forward --iface eth1 --capture-iface eth2 --router-mac 52:54:00:12:34:56 capture.pcap

Needs root (CAP_SYS_ADMIN for namespaces, CAP_NET_ADMIN, CAP_NET_RAW).
Exit status: 0 when every packet of every input is exact or normalized and
nothing was lost; 1 otherwise; 2 on bad usage or an input that cannot be read.`,
		Flags: append(append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per input on standard output"},
			reportFlag,
			&cli.StringFlag{Name: "keep", Usage: "write the captured frames and the mismatching pairs as pcapng into `DIR`"},
			&cli.StringFlag{Name: "iface", Usage: "send on the existing interface `A` instead of a lab (needs --capture-iface)"},
			&cli.StringFlag{Name: "capture-iface", Usage: "capture on the existing interface `B`, which receives what A sends"},
			&cli.IntFlag{Name: "batch", Value: 32, Usage: "most messages per sendmmsg"},
			&cli.IntFlag{Name: "ring-mb", Value: 64, Usage: "capture ring size in MiB (TPACKET_V3)"},
			&cli.DurationFlag{Name: "idle", Value: 300 * time.Millisecond, Usage: "after the last send, stop waiting for the output once the capture has been quiet this `long` (longer for a slow device between --iface and --capture-iface)"},
			&cli.StringFlag{Name: "capture-iface2", Usage: "with --iface, -I and a split: capture the second side on the existing interface `B2`"},
		}, pacingFlags()...), append(append(append(append(threadFlags(), sourceFlags()...), splitFlags()...), groFlags()...), forwardFlags()...)...),
		Action: func(c *cli.Context) error {
			ins := c.Args().Slice()
			if len(ins) == 0 {
				ins = []string{sampleName}
			}
			o := verify.Options{Iface: c.String("iface"), CaptureIface: c.String("capture-iface"), Keep: c.String("keep"), Batch: c.Int("batch"),
				Iface2: c.String("intf2"), CaptureIface2: c.String("capture-iface2"), Idle: c.Duration("idle")}
			if o.Idle <= 0 {
				return usagef("--idle %v: must be positive", o.Idle)
			}
			if o.Iface == "" && (o.Iface2 != "" || o.CaptureIface2 != "") {
				return usagef("verify: -I and --capture-iface2 go with --iface and --capture-iface; a lab builds its second pair itself")
			}
			if c.IsSet("cachefile") && len(c.Args().Slice()) > 1 {
				return usagef("verify: a --cachefile numbers the packets of one capture: give one input")
			}
			var err error
			if o.Threads, o.CPUs, err = threadsFrom(c); err != nil {
				return err
			}
			if o.Pacing, err = pacingFrom(c); err != nil {
				return err
			}
			if o.Source, err = sourceFrom(c); err != nil {
				return err
			}
			if o.Via, err = viaFrom(c, &o.Source.Coalesce); err != nil {
				return err
			}
			if o.Via == replay.ViaTap && (c.Bool("gro") || c.Bool("forward")) {
				return usagef("verify: --via tap goes with plain verify, not --gro or --forward")
			}
			if (o.Iface == "") != (o.CaptureIface == "") {
				return usagef("verify: --iface and --capture-iface go together")
			}
			mb := c.Int("ring-mb")
			if mb < 4 || mb > 4096 || mb%4 != 0 {
				return usagef("--ring-mb %d: want a multiple of 4 in 4..4096", mb)
			}
			// Blocks of 1 MiB (the comparison sees frames a block at a
			// time), at least 16 of them, at most MaxBlocks.
			bs := min(1<<20, mb<<20/16)
			o.Capture = capture.Options{BlockSize: bs, Blocks: mb << 20 / bs}
			if o.Capture.Blocks > capture.MaxBlocks {
				o.Capture = capture.Options{BlockSize: 4 << 20, Blocks: mb / 4}
			}
			if err := batchFlag(c); err != nil {
				return err
			}
			if err := flagError(c, o.Validate()); err != nil {
				return err
			}
			opens := make([]replay.Opener, len(ins))
			for i, in := range ins {
				if opens[i], err = opener(c, in); err != nil {
					return err
				}
				r, err := opens[i]()
				if err != nil {
					return inputError(err)
				}
				r.Close()
			}
			if c.Bool("forward") {
				if c.Bool("gro") || o.Source.Rewrite != nil || c.IsSet("split") || c.IsSet("cachefile") || c.IsSet("intf2") {
					return usagef("verify --forward sends the capture as it is, on one interface, to the router's MAC: no --gro, no rewriting, no split")
				}
				return verifyForward(c, ins, opens, o.Pacing, o.Source.Coalesce, o.Capture)
			}
			if c.IsSet("egress") || c.Bool("gro-list") || c.Bool("coalesce") || c.IsSet("router-mac") || c.IsSet("big-tcp") || c.Bool("snat") {
				return usagef("--egress, --gro-list, --coalesce, --big-tcp, --snat and --router-mac go with --forward")
			}
			if c.Bool("gro") {
				if o.Source.Rewrite != nil || c.IsSet("split") || c.IsSet("cachefile") || c.IsSet("intf2") {
					return usagef("verify --gro sends the capture as it is, on one interface: no rewriting, no split")
				}
				return verifyGRO(c, ins, opens, o.Pacing, o.Source.Coalesce)
			}
			return verifyEach(c, ins, func(ctx context.Context, i int, in string) (*verify.Report, bool, error) {
				var err error
				if o.Source.Split, err = splitFrom(c, in, o.Iface == ""); err != nil {
					return nil, false, err
				}
				rep, err := verify.Verify(ctx, in, opens[i], o)
				if err != nil {
					return rep, rep != nil && rep.Interrupted, fmt.Errorf("verify %s: %w", in, err)
				}
				return rep, false, nil
			}, printVerify, verifySection, func(r *verify.Report) bool { return r.Verdict.Passed() }, " did not verify")
		},
	}
}

// verifyEach checks each input in turn with check and prints its report:
// one JSON line with --json, else show. With an error, check says whether
// its report still stands (the run was interrupted: what was checked is
// shown, then the error); an error without one is the input's (exit
// status 2 where it cannot be read). It fails, the count and failure said,
// when any report did not pass. With --report, section draws each report
// that stands into one HTML page (ids prefixed "inN-").
func verifyEach[R any](c *cli.Context, ins []string, check func(ctx context.Context, i int, in string) (rep R, stands bool, err error),
	show func(io.Writer, R), section func(p *htmlreport.Page, id string, r R), passed func(R) bool, failure string) error {
	ctx, cancel := signalContext(c)
	defer cancel()
	page := &htmlreport.Page{Title: "gsoreplay verify"}
	for _, f := range []string{"gro", "forward"} {
		if c.Bool(f) {
			page.Title += " --" + f
		}
	}
	failed := 0
	for i, in := range ins {
		rep, stands, err := check(ctx, i, in)
		if err != nil && !stands {
			return inputError(err)
		}
		section(page, fmt.Sprintf("in%d-", i+1), rep)
		if werr := writePage(c, page); werr != nil { // after each input: what an error leaves stays
			return werr
		}
		if c.Bool("json") {
			if err := writeJSONLine(c.App.Writer, rep); err != nil {
				return err
			}
		} else {
			show(c.App.Writer, rep)
		}
		if err != nil {
			return err
		}
		if !passed(rep) {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d inputs%s", failed, len(ins), failure)
	}
	return nil
}

// printVerify writes one input's verdict for a person.
func printVerify(w io.Writer, r *verify.Report) {
	fmt.Fprintf(w, "%s: %s\n", r.File, strings.ToUpper(string(r.Verdict)))
	fmt.Fprintf(w, "  sent      %d packets, %d of them in %d super-packets", r.Packets, r.CoalescedPackets, r.SuperPackets-r.Resegmented)
	if r.Resegmented > 0 {
		fmt.Fprintf(w, "; %d frames captured whole on a TSO/GRO host sent as super-packets", r.Resegmented)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  captured  %d frames of %d expected at the %s\n", r.SegmentsCaptured, r.Expected, r.Capture)
	if r.TwoInterfaces {
		kept := "kept"
		if r.CrossSideReordered > 0 {
			kept = fmt.Sprintf("NOT KEPT: %d frames out of their connection's order", r.CrossSideReordered)
		}
		fmt.Fprintf(w, "  order across both interfaces within each connection (kernel timestamps): %s\n", kept)
	}
	fmt.Fprintf(w, "  exact %d  normalized %d  mismatched %d  missing %d  extra %d  reordered %d  drops %d  (%.2f s)\n",
		r.Exact, r.Normalized, r.Mismatched, r.Missing, r.Extra, r.Reordered, r.Drops, r.Seconds)
	if r.Interrupted {
		fmt.Fprintf(w, "  stopped   before the end: %d frames expected were not checked (not sent yet, or on their way)\n", r.Unchecked)
	}
	for _, k := range sortedKeys(r.DropsBy) {
		fmt.Fprintf(w, "  dropped   %d by %s\n", r.DropsBy[k], k)
	}
	for _, k := range sortedKeys(r.SendFailures) {
		fmt.Fprintf(w, "  refused   %d sends: %s %s\n", r.SendFailures[k], k, replay.ErrnoMeaning(k))
	}
	for _, k := range sortedKeys(r.NormalizedWhy) {
		fmt.Fprintf(w, "  normalized %d: %s\n", r.NormalizedWhy[k], k)
	}
	for _, d := range r.Details {
		fmt.Fprintf(w, "  %s\n", d)
	}
}

func probeCommand() *cli.Command {
	return &cli.Command{
		Name:  "probe",
		Usage: "check that the kernel (or NIC) segments GSO packets correctly and rejects bad virtio headers (root)",
		Description: `Runs a matrix of cases in a lab of its own (or on --iface A --capture-iface B) and
prints, for each, what was sent, what the kernel must do, what it did, and
whether that passes:

  segmentation  super-packets of every shape gsoreplay makes (TCPv4/v6 with and
                without options and NEEDS_CSUM, PSH|FIN, CWR, ECE, IPv4 ID wrap,
                IPv4 options, IPv6 extension headers, 802.1Q, QinQ, USO up to 128
                segments, UFO, BIG TCP up to 1 MiB with and without the IPv6
                jumbo option): each segment must equal the reference
                segmenter's, byte for byte;
  validation    malformed virtio headers (docs/kernel.md §4): the errno or drop.
  validation-tap
                the validation cases again, written to a tap (tun_get_user,
                the path a VM's virtio-net packets take: as untrusted a writer
                as a packet socket), and virtio_net_hdr_tnl_to_skb's checks of
                the 24-byte tunnel header (both tunnel bits, inner type NONE or
                UFO, no NEEDS_CSUM, offsets out of order, the tunnel features
                not negotiated): the errno or drop;
  segmentation-tap
                UDP tunnel super-packets (VXLAN and GENEVE over IPv4 and IPv6,
                inner TCP over IPv4 and IPv6 and inner UDP, with and without the
                outer checksum, ID wrap-around, ECN) through a tap: each segment
                must equal the reference segmenter's, byte for byte. A tap takes
                the tunnel header from Linux 6.17; older kernels skip these
                cases ("not supported by this kernel").

Expectations follow the kernel version where behaviour changed; a kernel newer
than the newest verified one gets the newest expectations and a note. A send
that hangs is reported after --timeout. Nothing leaves the lab.

  gsoreplay probe
  gsoreplay probe --json | jq '.cases[] | select(.pass == false)'
  gsoreplay probe --write-fixtures fixtures/     # one pcapng per case

--gro runs the receive side's matrix instead (kind "gro"): the cases of the
kernel selftest net/lib/gro.c by name (data_same, data_lrg_sml, ack, flags_psh,
tcp_csum, ip_id_df1_fixed, ip_v6ext_same, large_max, ...), over IPv4 and IPv6
where they apply, and UDP cases: each case's frames are sent back to back into
a lab receiver running GRO, and the packets it hands up (how many frames each
holds) and whether each is lossless (its reference segmentation gives back the
frames) are compared with what Linux's GRO code must do. GRO merges only what
meets in one NAPI poll; a case that a poll ending mid-send may explain is sent
again, up to three times ("attempt N" in the table, "attempts" in --json).

  gsoreplay probe --gro

--forward runs the router in the middle's matrix (kind "forward"): every GRO
case sent through a lab router (GRO at its ingress, routing, software GSO or
TSO at its egress; verify --forward's lab, one per case), the UDP cases again
with fraglist GRO, BIG TCP at 256 KiB (merged by the router's GRO, and sent
whole), and TCP and UDP cases through a source NAT on the router (--snat),
with fraglist GRO and without. Each must come out with exactly the routing's
edits (and the NAT's), or as this kernel is known to deliver it: on 6.18 the
frames behind the first in a fraglist GRO packet leave unrouted (their TTL and
checksum as they came, though translated), and a whole IPv6 BIG TCP packet is
refused by the router's IPv6 input before Linux 7.0 (payload length 0 without a
Hop-by-Hop jumbo option, which a packet socket cannot send). --write-fixtures
keeps each case's --keep files.

  gsoreplay probe --forward

Needs root. Exit status: 0 when every case passes, 1 otherwise, 2 on bad usage.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: `print {"kernel", "cases": [{"name", "kind", "sent", "expected", "observed", "pass", "detail", "attempts", "skipped"}], "failed", "skipped"}`},
			&cli.StringFlag{Name: "iface", Usage: "send on the existing interface `A` instead of a lab (needs --capture-iface)"},
			&cli.StringFlag{Name: "capture-iface", Usage: "capture on the existing interface `B`, which receives what A sends"},
			&cli.StringFlag{Name: "write-fixtures", Usage: "write each case's super-packet and expected segments as pcapng into `DIR`"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "longest wait for one send"},
			&cli.BoolFlag{Name: "gro", Usage: "run the GRO (receive side) matrix in a lab instead"},
			&cli.BoolFlag{Name: "forward", Usage: "run the router in the middle's matrix (GRO, route, GSO or TSO) in a lab instead"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("probe: no arguments expected, got %d", c.NArg())
			}
			o := probe.Options{Iface: c.String("iface"), CaptureIface: c.String("capture-iface"), WriteFixtures: c.String("write-fixtures"), Timeout: c.Duration("timeout")}
			if (o.Iface == "") != (o.CaptureIface == "") {
				return usagef("probe: --iface and --capture-iface go together")
			}
			if o.Timeout <= 0 {
				return usagef("--timeout must be positive")
			}
			ctx, cancel := signalContext(c)
			defer cancel()
			var rep *probe.Report
			var err error
			switch {
			case c.Bool("gro") && c.Bool("forward"):
				return usagef("probe: --gro or --forward, not both")
			case (c.Bool("gro") || c.Bool("forward")) && o.Iface != "":
				return usagef("probe --gro and --forward build their own lab")
			case c.Bool("gro"):
				rep, err = probe.RunGRO(ctx, probe.GROOptions{WriteFixtures: o.WriteFixtures})
			case c.Bool("forward"):
				rep, err = probe.RunForward(ctx, probe.ForwardOptions{Keep: o.WriteFixtures})
			default:
				rep, err = probe.Run(ctx, o)
			}
			if err != nil && (rep == nil || !rep.Interrupted) {
				return err
			}
			if c.Bool("json") {
				if err := writeJSONLine(c.App.Writer, rep); err != nil {
					return err
				}
			} else {
				printProbe(c.App.Writer, rep)
			}
			if err != nil { // interrupted: the cases run are shown above
				return err
			}
			if rep.Failed > 0 {
				return fmt.Errorf("probe: %d of %d cases deviate on kernel %s", rep.Failed, len(rep.Cases), rep.Kernel)
			}
			return nil
		},
	}
}

// printProbe writes the matrix as a table.
func printProbe(w io.Writer, r *probe.Report) {
	fmt.Fprintf(w, "kernel %s\n", r.Kernel)
	if r.Note != "" {
		fmt.Fprintf(w, "note: %s\n", r.Note)
	}
	fmt.Fprintf(w, "%-4s %-16s %-52s %-34s %s\n", "", "kind", "case", "expected", "observed")
	for _, c := range r.Cases {
		mark := "ok"
		if !c.Pass {
			mark = "FAIL"
		}
		exp, obs := c.Brief()
		if c.Attempts > 1 {
			obs += fmt.Sprintf(" (attempt %d)", c.Attempts)
		}
		if c.Skipped {
			mark = "skip"
		}
		fmt.Fprintf(w, "%-4s %-16s %-52s %-34s %s\n", mark, c.Kind, c.Name, exp, obs)
		if !c.Pass {
			fmt.Fprintf(w, "     sent %s\n", c.Sent)
			if c.Detail != "" {
				fmt.Fprintf(w, "     %s\n", c.Detail)
			}
		}
	}
	fmt.Fprintf(w, "%d cases, %d pass, %d fail", len(r.Cases), len(r.Cases)-r.Failed-r.Skipped, r.Failed)
	if r.Skipped > 0 {
		fmt.Fprintf(w, ", %d skipped", r.Skipped)
	}
	fmt.Fprintln(w)
	if r.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: the cases after these were not run")
	}
}
