package coalesce

// Reason says why a packet was not merged, or why a run of packets ended.
// Every refusal has a name: inspect counts them, tests assert them.
type Reason uint8

const (
	ReasonNone Reason = iota

	// Why a packet cannot be part of any super-packet.
	ReasonLinkType      // link type not supported
	ReasonNotIP         // not IPv4 or IPv6 (ARP, MPLS, PPPoE, ...)
	ReasonTruncated     // the capture truncated the frame
	ReasonMalformed     // header lengths inconsistent with the frame
	ReasonIPLength      // IP length 0 or larger than the frame (TSO/GRO capture)
	ReasonPadding       // bytes after the IP datagram (Ethernet padding, FCS, trailer)
	ReasonFragment      // IP fragment
	ReasonIPv4Checksum  // IPv4 header checksum wrong
	ReasonIPv6ExtHeader // IPv6 extension header that GSO cannot carry
	ReasonNotTCPUDP     // neither TCP nor UDP
	ReasonL4Checksum    // TCP/UDP checksum wrong (partial checksum of a TX-offload host?)
	ReasonUDPZeroCsum   // UDP checksum 0: GSO always writes one
	ReasonTCPFlags      // SYN, RST or URG set
	ReasonNoPayload     // no payload (pure ACK, empty datagram)
	ReasonSmallGSO      // payload below 8 bytes cannot set a TCP gso_size
	ReasonComment       // the packet has a comment and no pcapng options to keep it in
	ReasonKeptBlock     // pcapng: only its block gives the packet back (Packet.Verbatim)
	ReasonOverWire      // captured length above the original length

	// Why a run ended (a flush). A run of one packet is written unchanged.
	ReasonEnd         // end of the capture
	ReasonInterleaved // strict order: another packet came in between
	ReasonFlowPacket  // an unmergeable packet of the same flow came
	ReasonL2Header    // link-layer header differs (MACs, VLAN tags)
	ReasonPacketOpts  // pcapng packet options differ (comments, flags, hashes, ...)
	ReasonTOS         // IPv4 TOS / IPv6 traffic class differs
	ReasonTTL         // TTL / hop limit differs
	ReasonDF          // IPv4 flags (DF) differ
	ReasonIPOptions   // IPv4 options or IPv6 extension headers differ
	ReasonFlowLabel   // IPv6 flow label differs
	ReasonIPID        // IPv4 ID does not increment by one
	ReasonSeq         // TCP sequence not contiguous
	ReasonAck         // TCP ack differs
	ReasonWindow      // TCP window differs
	ReasonTCPOptions  // TCP options differ
	ReasonTCPHeader   // other TCP header bytes differ (reserved bits, urgent pointer)
	ReasonFlagsDiffer // TCP flags differ (ACK, ECE)
	ReasonCWR         // CWR on a packet after the first
	ReasonPSHFIN      // PSH or FIN ends the run
	ReasonLarger      // segment larger than the first (gso_size)
	ReasonShort       // a shorter segment ends the run
	ReasonMaxBytes    // maximum super-packet size reached
	ReasonMaxSegments // maximum segment count reached (USO: 128)
	ReasonMaxSpan     // maximum time span reached
	ReasonHeld        // held back too long behind other flows, or too many open flows
	// How a train of IPv4 fragments ended: only a whole datagram with a
	// right checksum becomes a UFO super-packet; any other end passes its
	// fragments through.
	ReasonFragOrder    // fragment offset not contiguous (missing, duplicate or reordered fragment)
	ReasonFragSize     // fragment size differs from the first fragment's
	ReasonDatagramCsum // the reassembled datagram's UDP checksum or length is wrong
	ReasonDatagram     // the last fragment completes the datagram
	// How a run of UDP tunnel packets (tunnel GSO) ended: where the outer
	// headers would not come back from the kernel's tunnel segmentation.
	ReasonOuterHeader // outer IP/UDP or tunnel header differs (addresses, ports, TOS, TTL, VNI, inner Ethernet)
	ReasonOuterIPID   // outer IPv4 ID does not increment by one
	ReasonOuterCsum   // outer UDP checksum 0 on some packets, not on others

	// NumReasons is one more than the last reason: the length of the
	// arrays of Stats that a Reason indexes.
	NumReasons
)

var reasonNames = [NumReasons]string{
	ReasonNone:          "none",
	ReasonLinkType:      "link type not supported",
	ReasonNotIP:         "not IPv4/IPv6",
	ReasonTruncated:     "frame truncated by the capture",
	ReasonMalformed:     "malformed headers",
	ReasonIPLength:      "IP length 0 or beyond the frame (TSO/GRO capture)",
	ReasonPadding:       "padding or trailer after the IP datagram",
	ReasonFragment:      "IP fragment",
	ReasonIPv4Checksum:  "IPv4 header checksum wrong",
	ReasonIPv6ExtHeader: "IPv6 extension header not carried by GSO",
	ReasonNotTCPUDP:     "not TCP or UDP",
	ReasonL4Checksum:    "TCP/UDP checksum wrong (TX checksum offload?)",
	ReasonUDPZeroCsum:   "UDP checksum 0",
	ReasonTCPFlags:      "SYN, RST or URG set",
	ReasonNoPayload:     "no payload",
	ReasonSmallGSO:      "payload below 8 bytes",
	ReasonComment:       "packet comment",
	ReasonKeptBlock:     "pcapng block kept as written (simple/obsolete packet block, odd padding or timestamp)",
	ReasonOverWire:      "captured length above the original length",
	ReasonEnd:           "end of capture",
	ReasonInterleaved:   "other packet in between (strict order)",
	ReasonFlowPacket:    "unmergeable packet of the same flow",
	ReasonL2Header:      "link-layer header differs",
	ReasonPacketOpts:    "pcapng packet options differ",
	ReasonTOS:           "TOS/traffic class differs",
	ReasonTTL:           "TTL/hop limit differs",
	ReasonDF:            "IPv4 flags (DF) differ",
	ReasonIPOptions:     "IP options/extension headers differ",
	ReasonFlowLabel:     "IPv6 flow label differs",
	ReasonIPID:          "IPv4 ID not incrementing",
	ReasonSeq:           "TCP sequence not contiguous",
	ReasonAck:           "TCP ack differs",
	ReasonWindow:        "TCP window differs",
	ReasonTCPOptions:    "TCP options differ",
	ReasonTCPHeader:     "TCP header differs (reserved bits, urgent pointer)",
	ReasonFlagsDiffer:   "TCP flags differ",
	ReasonCWR:           "CWR after the first segment",
	ReasonPSHFIN:        "PSH or FIN ends the run",
	ReasonLarger:        "segment larger than gso_size",
	ReasonShort:         "short segment ends the run",
	ReasonMaxBytes:      "maximum super-packet size",
	ReasonMaxSegments:   "maximum segment count",
	ReasonMaxSpan:       "maximum time span",
	ReasonHeld:          "held back too long",
	ReasonFragOrder:     "fragment missing or out of order",
	ReasonFragSize:      "fragment size differs from the first",
	ReasonDatagramCsum:  "reassembled datagram's UDP checksum or length wrong",
	ReasonDatagram:      "datagram complete (last fragment)",
	ReasonOuterHeader:   "tunnel: outer or tunnel header differs",
	ReasonOuterIPID:     "tunnel: outer IPv4 ID not incrementing",
	ReasonOuterCsum:     "tunnel: outer UDP checksum 0 on some packets only",
}

// String is the human name of the reason.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

var reasonKeys = [NumReasons]string{
	"none", "link_type", "not_ip", "truncated", "malformed", "ip_length", "padding", "fragment",
	"ipv4_checksum", "ipv6_ext_header", "not_tcp_udp", "l4_checksum", "udp_zero_checksum", "tcp_flags",
	"no_payload", "small_gso", "comment", "kept_block", "over_wire", "end", "interleaved", "flow_packet",
	"l2_header", "packet_options", "tos", "ttl", "df",
	"ip_options", "flow_label", "ip_id", "seq", "ack", "window", "tcp_options", "tcp_header",
	"flags_differ", "cwr", "psh_fin", "larger", "short", "max_bytes", "max_segments", "max_span", "held",
	"frag_order", "frag_size", "datagram_checksum", "datagram",
	"outer_header", "outer_ip_id", "outer_checksum",
}

// Key is a stable snake_case identifier for JSON reports.
func (r Reason) Key() string {
	if r < NumReasons {
		return reasonKeys[r]
	}
	return "unknown"
}

// Refusal reports whether r explains a packet that could not start or join a
// run, as opposed to the end of a run.
func (r Reason) Refusal() bool { return r > ReasonNone && r < ReasonEnd }

// Reasons lists every reason but ReasonNone, in order.
func Reasons() []Reason {
	out := make([]Reason, 0, NumReasons-1)
	for r := ReasonNone + 1; r < NumReasons; r++ {
		out = append(out, r)
	}
	return out
}
