package replay

import (
	"errors"
	"fmt"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/split"
)

// Options control a replay.
type Options struct {
	Pacing Pacing
	// Loops is the number of passes over the capture; 0 repeats until
	// Limit, Duration or cancellation.
	Loops int
	// LoopDelay is a pause between passes (tcpreplay's --loopdelay-ms):
	// the schedule resumes after it, whatever the pacing.
	LoopDelay time.Duration
	// UniqueIP gives every pass after the first addresses of its own, as
	// tcpreplay's --unique-ip does (see unique.go): a new shift every
	// UniqueLoops passes (1 when 0; tcpreplay's --unique-ip-loops).
	UniqueIP    bool
	UniqueLoops float64
	// FlowStats counts the flows sent as tcpreplay does (Report.Flows, see
	// flows.go); FlowExpiry, in seconds of capture time, is how long a
	// flow may pause before it counts again (0: never; tcpreplay's
	// --flow-expiry).
	FlowStats  bool
	FlowExpiry int
	// Limit stops after this many frames on the wire (a super-packet is not
	// split, so the count may pass it by less than one super-packet).
	Limit int64
	// Duration stops after this long.
	Duration time.Duration
	// Batch is the most messages per sendmmsg (default 32).
	Batch int
	// Threads is the number of pipelines, each with its own coalescer and
	// socket, that share the capture by connection (see Shard); 0 is one
	// per CPU the process may use. One keeps the capture's global order;
	// more keep the order within each connection.
	Threads int
	// CPUs, if set, pins pipeline i to CPUs[i % len(CPUs)].
	CPUs   []int
	Source SourceOptions
	// Iface2, with Source.Split, is the second interface (tcpreplay's -I):
	// items of the secondary side leave by it (Replay).
	Iface2 string
	// Step, if set, makes the replay interactive (tcpreplay's
	// --oneatatime): before the n-th item (1 for the first) it is asked
	// how many items to send before it is asked again (less than 1 is
	// 1; ErrStop ends the replay), and every item leaves at once, paced
	// by nothing else. It needs one pipeline (Threads 1).
	Step func(n int64) (int64, error)
	// Progress, if set, is called about every 100 ms with the frames sent
	// and their bytes.
	Progress func(frames, bytes int64)
	// Preload reads the capture's items into memory before sending
	// (tcpreplay's -K): loops then cost no reading, coalescing or copying.
	Preload bool
	// PreloadMax bounds the memory a preload takes (default 2 GiB).
	PreloadMax int64
	// Window is the ring, in bytes, each pipeline streams the capture
	// through (DefaultWindow if 0, at least pcaps.MinWindow; a pcapng file
	// needs pcaps.MinWindowNG, else it is read in one stage, copied):
	// frames are sent from it without copying, and a super-packet under way
	// when the ring comes round is sent as it stands.
	Window int
	// Retries is how many times a send the device refuses for a full
	// queue (ENOBUFS) is tried again, 50 µs apart, before it counts as
	// failed (8 when 0): a receiver that polls late (GRO with a flush
	// timeout) needs more.
	Retries int
	// Observer, if set, is shown what is sent (verify builds its
	// expectation from it).
	Observer Observer
	// In, if set, runs fn in the network namespace that holds the
	// interfaces (a lab's, say): Replay opens its sockets and reads the
	// interfaces' counters there. Nil is the calling thread's namespace.
	In func(fn func() error) error
	// Via is the way into the kernel: a packet socket on the interface,
	// or a tap redirected to it (package tap), the path of a VM's
	// virtio-net, which alone takes UDP tunnel super-packets
	// (Source.Coalesce.TunnelGSO).
	Via Via
	// Part, if set, sends only this process's share of the capture, one of
	// N that as many processes (on as many hosts) send together.
	Part Part
	// StartAt, if set, is the wall-clock instant the replay starts at:
	// Replay prepares (opens, preloads) and then waits for it, and the
	// capture's original timing is anchored to it, so that processes on
	// hosts with synchronized clocks send one capture together. It must
	// not have passed.
	StartAt time.Time
}

// ErrStop, returned by Options.Step, ends a replay as a limit does.
var ErrStop = errors.New("replay: stopped")

// Via is the way packets enter the kernel.
type Via uint8

// Ways in.
const (
	ViaPacket Via = iota // AF_PACKET with PACKET_VNET_HDR
	ViaTap               // a tap with IFF_VNET_HDR, redirected to the interface
)

var viaWords = [...]string{ViaPacket: "packet", ViaTap: "tap"}

func (v Via) String() string { return viaWords[v] }

// MarshalText writes the word String gives.
func (v Via) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// ParseVia reads "packet" or "tap".
func ParseVia(s string) (Via, error) {
	for i, w := range viaWords {
		if w == s {
			return Via(i), nil
		}
	}
	return 0, optionError("Via", s, "want packet or tap")
}

// SourceOptions choose how a capture becomes items.
type SourceOptions struct {
	Coalesce coalesce.Options
	// NoCoalesce sends a raw capture frame by frame.
	NoCoalesce bool
	// MSS forces gso_size for frames captured whole on TSO/GRO hosts;
	// 0 infers it (SYN MSS option, else full-size segments, else MTU).
	MSS int
	// MTU of the egress interface (default 1500): frames above it are
	// candidates for resegmentation.
	MTU int
	// Split, when set, gives every packet its side (Item.Side): which of
	// two interfaces it leaves by; packets it leaves out are not sent.
	Split split.Splitter
	// Rewrite, when set, edits every item on its way out as tcprewrite
	// would each frame (coalesce/rewrite): a super-packet once, after the
	// merge decisions were made on the original frames.
	Rewrite *rewrite.Options
}

// Limits of Options.
const (
	// DefaultWindow is Options.Window's default: 16 MiB, in huge pages.
	DefaultWindow = 16 << 20
	// MaxWindow bounds Options.Window.
	MaxWindow = 1 << 30
	// MaxBatch is the most messages Options.Batch may put in one sendmmsg.
	MaxBatch = 1024
	// MaxThreads bounds Options.Threads.
	MaxThreads = 256
	// MaxCPU is one above the highest CPU number Options.CPUs may name:
	// what a CPU affinity mask (unix.CPUSet) holds.
	MaxCPU = 1024
	// MaxRetries bounds Options.Retries.
	MaxRetries = 1 << 20
)

// Report is what a replay did, as the kernel and the interface saw it.
type Report struct {
	File         string `json:"file"`
	Interface    string `json:"interface"`
	Packets      int64  `json:"packets"`
	Bytes        int64  `json:"bytes"`
	SuperPackets int64  `json:"super_packets"`
	Sends        int64  `json:"sends"`
	Syscalls     int64  `json:"syscalls"`
	// Seconds runs from the first item handed to the kernel to the end
	// (tcpreplay's elapsed time); PPS and Mbps are over it.
	Seconds     float64          `json:"seconds"`
	PPS         float64          `json:"pps"`
	Mbps        float64          `json:"mbps"`
	Failed      int64            `json:"failed"`
	Retried     int64            `json:"retried_enobufs"`
	Skipped     int64            `json:"skipped_link_type"`
	Errors      map[string]int64 `json:"errors"`
	Loops       int              `json:"loops"`
	Threads     int              `json:"threads"`
	Resegmented int64            `json:"tso_frames_resegmented"`
	// InputPackets is what one pass read from the capture (a coalesced
	// capture's records counted as the packets they stand for), and
	// CoalescedPackets how many of them went inside super-packets.
	InputPackets     int64 `json:"input_packets"`
	CoalescedPackets int64 `json:"coalesced_packets"`
	// What the interface itself counted, for checking Packets.
	IfaceTxPackets uint64 `json:"iface_tx_packets"`
	IfaceTxBytes   uint64 `json:"iface_tx_bytes"`
	IfaceTxDropped uint64 `json:"iface_tx_dropped"`
	// IfaceCheck compares them with Packets.
	IfaceCheck IfaceCheck `json:"iface_check"`
	// HostBacklogDrops is what this host's receive backlogs dropped during
	// the replay (all devices): on a veth or tap, frames its peer lost.
	HostBacklogDrops uint64 `json:"host_backlog_drops"`
	// EndDriftMS is how much later than scheduled the last item left
	// (original timing and multiplier only).
	EndDriftMS float64 `json:"end_drift_ms"`
	// Sides, with a second interface, is what left by each and what each
	// counted: [0] the first (primary), [1] the second.
	Sides []SideReport `json:"sides,omitempty"`
	// Unsent is the packets a split leaves out (a tcpprep cache's "no send").
	Unsent int64 `json:"unsent,omitempty"`
	// Interrupted: the context ended the replay (Ctrl-C) before the end.
	Interrupted bool `json:"interrupted,omitempty"`
	// Part, with Options.Part, is what this process took of the capture.
	Part *PartReport `json:"shard,omitempty"`
	// FirstFrameAt and LastFrameAt are the wall-clock times the first
	// item was handed to the kernel and the last batch left: what report
	// merge spans.
	FirstFrameAt time.Time `json:"first_frame_at"`
	LastFrameAt  time.Time `json:"last_frame_at"`
	// Flows, with Options.FlowStats, is tcpreplay's flow statistics.
	Flows *FlowStats `json:"flows,omitempty"`
	// Coalescing is what the coalescers made of one pass (nil when
	// nothing was coalesced as it was sent: a coalesced capture, or
	// NoCoalesce).
	Coalescing *coalesce.Summary `json:"coalescing,omitempty"`
	// Series is what a report draws: rates over time, send-time error,
	// super-packet sizes, each pipeline's share (bounded; see Series).
	Series *Series `json:"series,omitempty"`
}

// SideReport is one interface's part of a two-interface replay.
type SideReport struct {
	Interface      string     `json:"interface"`
	Packets        int64      `json:"packets"`
	Bytes          int64      `json:"bytes"`
	IfaceTxPackets uint64     `json:"iface_tx_packets"`
	IfaceTxBytes   uint64     `json:"iface_tx_bytes"`
	IfaceTxDropped uint64     `json:"iface_tx_dropped"`
	IfaceCheck     IfaceCheck `json:"iface_check"`
}

// Opener opens the capture again for each loop.
type Opener func() (*pcaps.Reader, error)

// Ranges of SourceOptions.MSS and MTU.
const (
	maxMSS = 65000
	maxMTU = 65535
)

func optionError(option string, v any, want string) error {
	return &coalesce.OptionError{Option: option, Value: fmt.Sprint(v), Want: want}
}

// Validate reports the first option out of range (a *coalesce.OptionError
// naming the field). Zero values take defaults and are valid; a zero
// Coalesce is coalesce.New's defaults.
func (o SourceOptions) Validate() error {
	if o.MSS != 0 && (o.MSS < gso.MinTCPSize || o.MSS > maxMSS) {
		return optionError("MSS", o.MSS, fmt.Sprintf("want %d..%d", gso.MinTCPSize, maxMSS))
	}
	if o.MTU < 0 || o.MTU > maxMTU {
		return optionError("MTU", o.MTU, fmt.Sprintf("want 0..%d", maxMTU))
	}
	if o.Rewrite != nil {
		if err := o.Rewrite.Validate(); err != nil {
			return err
		}
	}
	if o.Coalesce == (coalesce.Options{}) {
		return nil
	}
	return o.Coalesce.Validate()
}

// Validate reports the first option out of range: the pacing's errors, or a
// *coalesce.OptionError naming the field. Zero values take defaults.
func (o Options) Validate() error {
	if err := o.Pacing.Validate(); err != nil {
		return err
	}
	switch {
	case o.Loops < 0:
		return optionError("Loops", o.Loops, "want 0 (forever) or more")
	case o.Batch < 0 || o.Batch > MaxBatch:
		return optionError("Batch", o.Batch, fmt.Sprintf("want 1..%d", MaxBatch))
	case o.Limit < 0:
		return optionError("Limit", o.Limit, "must not be negative")
	case o.Duration < 0:
		return optionError("Duration", o.Duration, "must not be negative")
	case o.LoopDelay < 0:
		return optionError("LoopDelay", o.LoopDelay, "must not be negative")
	case o.FlowExpiry < 0:
		return optionError("FlowExpiry", o.FlowExpiry, "must not be negative")
	case o.UniqueLoops != 0 && (o.UniqueLoops < 1 || o.UniqueLoops > 1e9):
		return optionError("UniqueLoops", o.UniqueLoops, "want 1 or more")
	case o.Threads < 0 || o.Threads > MaxThreads:
		return optionError("Threads", o.Threads, fmt.Sprintf("want 1..%d", MaxThreads))
	case o.Retries < 0 || o.Retries > MaxRetries:
		return optionError("Retries", o.Retries, fmt.Sprintf("want 0..%d", MaxRetries))
	case o.Window != 0 && (o.Window < pcaps.MinWindow || o.Window > MaxWindow):
		return optionError("Window", o.Window, fmt.Sprintf("want %d..%d bytes", pcaps.MinWindow, MaxWindow))
	case o.Via > ViaTap:
		return optionError("Via", int(o.Via), "want packet or tap")
	case o.Source.Coalesce.TunnelGSO && o.Via != ViaTap:
		return optionError("Via", o.Via.String(), "tunnel GSO needs a tap: a packet socket takes no tunnel header")
	case o.Via == ViaTap && o.Iface2 != "":
		return optionError("Via", o.Via.String(), "a second interface goes by packet socket only")
	case o.Step != nil && o.Threads != 1:
		return optionError("Threads", o.Threads, "want 1: stepping goes through the capture in its order")
	}
	if err := o.Part.Validate(); err != nil {
		return err
	}
	for _, c := range o.CPUs {
		if c < 0 || c >= MaxCPU {
			return optionError("CPUs", c, "want a CPU number")
		}
	}
	return o.Source.Validate()
}
