package coalesce

import (
	"fmt"
	"time"
)

// Order selects which packets may merge.
type Order int

const (
	// PerFlow merges consecutive packets of one flow even when other flows'
	// packets come in between, like GRO. Order within each flow is kept;
	// the records carry what is needed to restore the global order.
	PerFlow Order = iota
	// Strict merges only packets adjacent in the capture.
	Strict
)

// String is "per-flow" or "strict".
func (o Order) String() string {
	if o == Strict {
		return "strict"
	}
	return "per-flow"
}

// MarshalText writes String's name, so that an Order is a string in JSON.
func (o Order) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads "per-flow" (or "flow") and "strict"; anything else
// is an *OptionError naming Order.
func (o *Order) UnmarshalText(text []byte) error {
	switch string(text) {
	case "per-flow", "flow":
		*o = PerFlow
	case "strict":
		*o = Strict
	default:
		return &OptionError{Option: "Order", Value: fmt.Sprintf("%q", text), Want: "want per-flow or strict"}
	}
	return nil
}

// Options limit the super-packets. DefaultOptions gives safe values.
type Options struct {
	// MaxBytes is the largest IP datagram (IP header, L4 header, payload) of
	// a super-packet. 65535 keeps the 16-bit length fields exact, as GRO does;
	// above it (BIG TCP, up to MaxBytesMax) a super-packet's IPv4 total length
	// and IPv6 payload length are 0 (gso.LenOrZero), which the kernel's
	// segmentation rewrites in every segment; nothing says the length but
	// the frame's.
	MaxBytes int
	// MaxSegments is the most frames one super-packet carries (USO stops at
	// 128 whatever this says). Bursts above ~1000 segments overflow a
	// receiver's backlog.
	MaxSegments int
	// MaxSpan is the longest time between the first and the last segment, so
	// that a paced replay keeps the capture's timing; 0 means no limit.
	MaxSpan time.Duration
	// Order: PerFlow or Strict.
	Order Order
	// MaxHeld bounds, in PerFlow order, how many records may wait behind an
	// open super-packet, and MaxFlows how many super-packets are open at
	// once; they bound memory and the reordering a reader must undo.
	MaxHeld  int
	MaxFlows int
	// IPv6Jumbo puts a Hop-by-Hop jumbo header (header.IPv6Jumbo) after
	// the IPv6 header of a TCP super-packet whose payload passes 65535
	// bytes, as Linux 6.0 to 6.19 hold BIG TCP and as tools read it (RFC
	// 2675); without it the payload length is 0 alone, as Linux 7.0 has it.
	// Linux 6.x takes it off before the frames leave (ipv6_gso_segment,
	// which a packet socket's GSO packet always passes, even to a device
	// that takes it whole); 7.0 would copy it into every segment. MaxBytes
	// does not count its 8 bytes.
	IPv6Jumbo bool
	// TunnelGSO merges UDP tunnel packets (VXLAN, GENEVE) by their inner
	// TCP or UDP packets into tunnel super-packets (gso.UDPTunnel4/6 with
	// the inner type), which only a tap takes (Linux 6.17+); without it
	// they merge as plain UDP datagrams of the outer header (USO), which
	// needs a right, non-zero outer checksum. A packet that could merge
	// either way merges through its tunnel.
	TunnelGSO bool
}

// DefaultOptions returns the defaults: 64 KiB of IP, 64 segments, 1 ms,
// per-flow order.
func DefaultOptions() Options {
	return Options{MaxBytes: 65535, MaxSegments: 64, MaxSpan: time.Millisecond, Order: PerFlow, MaxHeld: 1024, MaxFlows: 256}
}

// Bounds of what Validate and ParseComment accept, and the first word of a
// super-packet comment: one block, as a user reads them together.
const (
	MinBytes    = 100     // least Options.MaxBytes
	MaxBytesMax = 1 << 20 // most Options.MaxBytes
	MaxHeldMax  = 1 << 15 // most Options.MaxHeld
	MaxFlowsMax = 4096    // most Options.MaxFlows
	// MaxSegs bounds Options.MaxSegments and the segment count a comment
	// may claim, so that a hostile file cannot make a reader allocate
	// without limit. GSO itself stops at 65535.
	MaxSegs = 65535
	// CommentPrefix starts every super-packet comment (AppendComment).
	CommentPrefix = "vnet "

	minSegsLimit = 1
)

// OptionError is an option out of its range. Option names the field of the
// options struct; a command line names its own flag instead.
type OptionError struct {
	Option string
	Value  string
	Want   string
}

func (e *OptionError) Error() string { return fmt.Sprintf("%s %s: %s", e.Option, e.Value, e.Want) }

func rangeError(option string, v any, want string) error {
	return &OptionError{Option: option, Value: fmt.Sprint(v), Want: want}
}

// Validate reports the first option out of range. Zero values are out of
// range too: New fills them in, Validate checks what a user chose.
func (o Options) Validate() error {
	switch {
	case o.MaxBytes < MinBytes || o.MaxBytes > MaxBytesMax:
		return rangeError("MaxBytes", o.MaxBytes, fmt.Sprintf("want %d..%d", MinBytes, MaxBytesMax))
	case o.MaxSegments < minSegsLimit || o.MaxSegments > MaxSegs:
		return rangeError("MaxSegments", o.MaxSegments, fmt.Sprintf("want %d..%d", minSegsLimit, MaxSegs))
	case o.MaxSpan < 0:
		return rangeError("MaxSpan", o.MaxSpan, "must not be negative")
	case o.Order != PerFlow && o.Order != Strict:
		return rangeError("Order", int(o.Order), "want PerFlow or Strict")
	case o.MaxHeld < 1 || o.MaxHeld > MaxHeldMax:
		return rangeError("MaxHeld", o.MaxHeld, fmt.Sprintf("want 1..%d", MaxHeldMax))
	case o.MaxFlows < 1 || o.MaxFlows > MaxFlowsMax:
		return rangeError("MaxFlows", o.MaxFlows, fmt.Sprintf("want 1..%d", MaxFlowsMax))
	}
	return nil
}

// withDefaults fills the zero limits with DefaultOptions' values; a zero
// MaxSpan stays zero, which means no limit.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxBytes <= 0 {
		o.MaxBytes = d.MaxBytes
	}
	if o.MaxSegments <= 0 {
		o.MaxSegments = d.MaxSegments
	}
	if o.MaxHeld <= 0 {
		o.MaxHeld = d.MaxHeld
	}
	if o.MaxFlows <= 0 {
		o.MaxFlows = d.MaxFlows
	}
	return o
}
