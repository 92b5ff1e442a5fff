package replay

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Flow statistics, as tcpreplay 4.6 counts them for its report's "Flows:"
// line (flow_decode, update_flow_stats): a flow is a directional tuple of
// addresses, protocol and ports (ICMP's type and code stand for ports,
// other protocols have none), so a connection is two flows. Each packet as
// it is read is new (a flow not seen before), existing, expired (seen, but
// more than the expiry's seconds of capture time ago; only with an
// expiry), not IP, or invalid (too short for the headers it names). The
// decoding copies tcpreplay's, its oddities included: one IPv6 extension
// header is stepped over, and only a hop-by-hop one; ICMP needs the 28
// bytes of tcpreplay's ICMP header; BSD loopback is read as raw IP at byte
// 0, so never IP; VLAN tags and MPLS labels (with Ethernet over MPLS) are
// stepped over. The flows of all passes go in one table, so a second pass
// over a capture finds them existing, unless --unique-ip gave it new
// addresses.

// FlowStats is what the flow statistics counted (Report.Flows).
type FlowStats struct {
	// Flows is the flows started: new ones and expired ones seen again.
	Flows int64 `json:"flows"`
	// Unique is the distinct flows, Expired the flows seen again after
	// their expiry.
	Unique  int64 `json:"unique"`
	Expired int64 `json:"expired"`
	// FlowPackets and NonFlowPackets are the packets of flows and the
	// packets that are not IP; Invalid those too short to read.
	FlowPackets    int64 `json:"flow_packets"`
	NonFlowPackets int64 `json:"non_flow_packets"`
	Invalid        int64 `json:"invalid_packets"`
	// FPS is Flows over the replay's seconds.
	FPS float64 `json:"fps"`
	// ExpirySeconds is Options.FlowExpiry (0: flows never expire).
	ExpirySeconds int `json:"expiry_seconds,omitempty"`
	// Incomplete: the table reached MaxFlows and stopped taking new flows;
	// the counts are those of the flows it holds.
	Incomplete bool `json:"incomplete,omitempty"`
}

// MaxFlows bounds the flow table: about 100 bytes each.
const MaxFlows = 1 << 22

// flowKey is tcpreplay's flow_entry_data_t: an IPv4 address takes the
// first 4 bytes of its 16.
type flowKey struct {
	src, dst     [16]byte
	sport, dport uint16
	proto        uint8
}

// flowTable counts flows as tcpreplay's hash table does.
type flowTable struct {
	last   map[flowKey]int64 // capture seconds the flow was last seen
	expiry int64
	FlowStats
}

func newFlowTable(expiry int) *flowTable {
	return &flowTable{last: map[flowKey]int64{}, expiry: int64(expiry)}
}

// Sizes of tcpreplay's headers that its bounds checks use.
const (
	flowICMPSize = 28 // struct tcpr_icmpv4_hdr, unions and all
	flowMPLSSize = 4
	flowPWSize   = 4 // the pseudowire control word of Ethernet over MPLS
)

// Protocol numbers flow_decode looks at.
const (
	flowHopByHop = 0
	flowICMP     = 1
	flowTCP      = 6
	flowUDP      = 17
	flowICMPv6   = 58
)

// add counts one packet of link type lt captured at sec (Unix seconds).
// When shift is set, the packet goes out with its addresses moved by
// uniqueShift(k, cached=false), and is counted so; tcpreplay skips the
// packets it cannot edit (fast_edit_packet fails: no IP header), so they
// are not counted at all.
func (t *flowTable) add(data []byte, lt layers.LinkType, sec int64, shift bool, k uint64) {
	var key flowKey
	l2, etype, ok := flowLink(data, lt)
	if !ok {
		if !shift {
			t.Invalid++
		}
		return
	}
	var l4 int
	switch etype {
	case header.EtherTypeIPv4:
		if len(data) < l2+header.IPv4MinimumSize {
			if !shift {
				t.Invalid++
			}
			return
		}
		ip := header.IPv4(data[l2:])
		if ip.Version() != 4 {
			t.NonFlowPackets++
			return
		}
		l4 = l2 + ip.HeaderLength()
		key.proto = ip.Protocol()
		copy(key.src[:], ip.Source())
		copy(key.dst[:], ip.Destination())
		if shift {
			shiftKey(key.src[:4], key.dst[:4], k)
		}
	case header.EtherTypeIPv6:
		if len(data) < l2+header.IPv6MinimumSize {
			if !shift {
				t.Invalid++
			}
			return
		}
		ip := header.IPv6(data[l2:])
		if ip.Version() != 6 {
			t.NonFlowPackets++
			return
		}
		l4 = l2 + header.IPv6MinimumSize
		key.proto = ip.NextHeader()
		if key.proto == flowHopByHop {
			// tcpreplay reads these two bytes unchecked; past the
			// captured bytes, we call the packet invalid.
			if len(data) < l4+2 {
				t.Invalid++
				return
			}
			key.proto = data[l4]
			l4 += (int(data[l4+1]) + 1) * 8
		}
		copy(key.src[:], ip.Source())
		copy(key.dst[:], ip.Destination())
		if shift {
			shiftKey(key.src[12:], key.dst[12:], k)
		}
	default:
		if !shift {
			t.NonFlowPackets++
		}
		return
	}
	switch key.proto {
	case flowTCP, flowUDP:
		need := header.UDPSize
		if key.proto == flowTCP {
			need = header.TCPMinimumSize
		}
		if len(data) < l4+need {
			t.Invalid++
			return
		}
		key.sport = binary.BigEndian.Uint16(data[l4:])
		key.dport = binary.BigEndian.Uint16(data[l4+2:])
	case flowICMP, flowICMPv6:
		if len(data) < l4+flowICMPSize {
			t.Invalid++
			return
		}
		key.sport, key.dport = uint16(data[l4]), uint16(data[l4+1])
	}
	t.put(key, sec)
}

// put is hash_put_data.
func (t *flowTable) put(key flowKey, sec int64) {
	last, seen := t.last[key]
	switch {
	case !seen && len(t.last) >= MaxFlows:
		t.Incomplete = true
		return
	case !seen:
		t.Flows++
		t.Unique++
	case t.expiry > 0 && sec > t.expiry+last:
		t.Expired++
		t.Flows++
	}
	t.FlowPackets++
	if t.expiry > 0 || !seen {
		t.last[key] = sec
	}
}

// shiftKey moves a key's addresses (IPv4, or IPv6's last 32 bits) as
// uniqueIPs moves a streamed packet's.
func shiftKey(src, dst []byte, k uint64) {
	s, d := uniqueShift(binary.BigEndian.Uint32(src), binary.BigEndian.Uint32(dst), k, false)
	binary.BigEndian.PutUint32(src, s)
	binary.BigEndian.PutUint32(dst, d)
}

// flowLink is tcpreplay's get_l2len_protocol for the link types gsoreplay
// sends: the network header's offset and its EtherType; !ok is a packet
// tcpreplay calls invalid (truncated headers, 802.3 lengths, MPLS it does
// not read).
func flowLink(data []byte, lt layers.LinkType) (l2 int, t header.EtherType, ok bool) {
	if len(data) == 0 {
		return 0, 0, false
	}
	switch lt {
	case layers.LinkTypeEthernet:
		return flowEthernet(data)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// tcpreplay reads DLT_NULL as raw IP at byte 0 (the address
		// family), so its packets are never IP.
		return 0, header.EtherTypeOfIP(data[0]), true
	default: // SLL, SLL2, raw IP
		l2, t, st := header.Link(data, lt)
		return l2, t, st == header.LinkOK
	}
}

// flowEthernet steps over VLAN tags and MPLS labels as tcpreplay's
// parse_metadata does.
func flowEthernet(data []byte) (int, header.EtherType, bool) {
	if len(data) <= header.EthernetSize+header.VLANTagSize {
		return 0, 0, false
	}
	l2 := header.EthernetSize
	t := header.Ethernet(data).Type()
	for {
		switch {
		case t.IsVLAN():
			if len(data) < l2+header.VLANTagSize {
				return 0, 0, false
			}
			t = header.EtherType(binary.BigEndian.Uint16(data[l2+2:]))
			l2 += header.VLANTagSize
			continue
		case t == header.EtherTypeMPLS || t == header.EtherTypeMPLSMulticast:
			var ok bool
			if l2, t, ok = flowMPLS(data, l2); !ok {
				return 0, 0, false
			}
			continue
		}
		break
	}
	// An 802.3 length (or the gap above 1500) is no protocol.
	return l2, t, t >= 1536
}

// flowMPLS is tcpreplay's parse_mpls: the labels down to the bottom of the
// stack, then IPv4, IPv6 or (a first nibble of 0) a control word and an
// Ethernet header.
func flowMPLS(data []byte, off int) (int, header.EtherType, bool) {
	const gach = 13 // the Generic Associated Channel label
	for {
		if len(data) < off+flowMPLSSize {
			return 0, 0, false
		}
		e := binary.BigEndian.Uint32(data[off:])
		off += flowMPLSSize
		if e>>12 == gach {
			return 0, 0, false
		}
		if e&0x100 != 0 { // bottom of stack
			break
		}
	}
	if len(data) < off+1 {
		return 0, 0, false
	}
	switch data[off] >> 4 {
	case 4:
		return off, header.EtherTypeIPv4, true
	case 6:
		return off, header.EtherTypeIPv6, true
	case 0:
		if len(data) < off+flowPWSize+header.EthernetSize {
			return 0, 0, false
		}
		off += flowPWSize
		return off + header.EthernetSize, header.Ethernet(data[off:]).Type(), true
	}
	return 0, 0, false
}

// merge adds another pipeline's table in: distinct flows counted once.
func (t *flowTable) merge(o *flowTable) {
	for k, v := range o.last {
		if _, ok := t.last[k]; !ok {
			t.last[k] = v
			t.Unique++
		}
	}
	t.Expired += o.Expired
	t.FlowPackets += o.FlowPackets
	t.NonFlowPackets += o.NonFlowPackets
	t.Invalid += o.Invalid
	t.Incomplete = t.Incomplete || o.Incomplete
	t.Flows = t.Unique + t.Expired
}

// flowReport is tcpreplay's flow_stats arithmetic over the table after
// loops passes: a preload counted one pass, which loops with new
// addresses multiply; streamed passes were all counted, and with
// --unique-ip-loops tcpreplay scales the flow packets down by the passes
// that had new addresses.
func flowReport(t *flowTable, preload bool, loops int, lastUnique uint64, seconds float64) *FlowStats {
	f := t.FlowStats
	f.ExpirySeconds = int(t.expiry)
	if loops <= 0 {
		return &f
	}
	if preload && lastUnique > 0 {
		n := int64(lastUnique)
		f.Flows *= n
		f.Unique *= n
		f.Expired *= n
		f.FlowPackets *= n
		f.NonFlowPackets *= n
	} else if lastUnique > 0 {
		f.FlowPackets = f.FlowPackets * int64(lastUnique) / int64(loops)
	}
	if seconds > 0 {
		f.FPS = float64(f.Flows) / seconds
	}
	return &f
}
