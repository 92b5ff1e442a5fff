package coalesce

import (
	"slices"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
)

// Stats counts what the coalescer did.
type Stats struct {
	Packets int64 // packets in
	Blocks  int64 // pcapng blocks holding no packet, passed through in their places
	// NoCopyDropped counts pcapng custom blocks of the do-not-copy type,
	// which a file written from another must leave out.
	NoCopyDropped int64
	Bytes         int64 // bytes in
	Records       int64 // records out
	SuperPackets  int64
	Merged        int64 // packets inside super-packets
	// Refused counts, by Reason, packets that could not be part of a
	// super-packet.
	Refused [NumReasons]int64
	// Flushes counts, by Reason, why each run of mergeable packets ended (a
	// run of one is passed through).
	Flushes [NumReasons]int64
	// Segs is a histogram of segments per super-packet: bucket i < 7 holds
	// counts in (2^i, 2^(i+1)] (2, 3-4, ..., 65-128), and the last bucket
	// every count above 128, however large ("129+");
	// Summary.SegmentBuckets names them.
	Segs [8]int64
	// GSO counts super-packets by gso_type (index gso.TCPv4, gso.UDP,
	// gso.TCPv6, gso.UDPL4); tunnel super-packets count by their inner
	// type here and again in Tunnel.
	GSO [8]int64
	// Tunnel counts UDP tunnel super-packets (Options.TunnelGSO) by outer
	// IP version (0 IPv4, 1 IPv6) and inner gso_type, and TunnelMerged
	// the packets inside them.
	Tunnel       [2][8]int64
	TunnelMerged int64
}

// segBuckets names the buckets of Stats.Segs.
var segBuckets = [...]string{"2", "3-4", "5-8", "9-16", "17-32", "33-64", "65-128", "129+"}

// Summary is Stats as a report: counters, percentages and maps keyed by
// stable names (Reason.Key, gso.Type.String, SegmentBuckets).
type Summary struct {
	Packets       int64            `json:"packets"`
	Bytes         int64            `json:"bytes"`
	Records       int64            `json:"records"`
	Blocks        int64            `json:"pcapng_blocks,omitempty"`
	NoCopyDropped int64            `json:"no_copy_blocks_dropped,omitempty"`
	SuperPackets  int64            `json:"super_packets"`
	Coalesced     int64            `json:"coalesced_packets"`
	PassedThrough int64            `json:"passed_through"`
	MergedPercent float64          `json:"merged_percent"`
	MeanSegments  float64          `json:"mean_segments"`
	GSO           map[string]int64 `json:"gso_types"`
	// TunnelCoalesced is the packets inside UDP tunnel super-packets,
	// whose gso_types name "udp_tunnel_ipv4+" or "udp_tunnel_ipv6+" and
	// the inner type.
	TunnelCoalesced int64            `json:"tunnel_coalesced_packets,omitempty"`
	Segments        map[string]int64 `json:"segments_histogram"`
	Refused         map[string]int64 `json:"not_mergeable"`
	Flushes         map[string]int64 `json:"run_ended"`
	Order           Order            `json:"order"`
	Seconds         float64          `json:"seconds,omitempty"`
}

// Summary reports st for a coalescing with options o that took d (0: not
// timed). Percentages and means are truncated to one decimal.
func (st *Stats) Summary(o Options, d time.Duration) Summary {
	s := Summary{
		Packets: st.Packets, Bytes: st.Bytes, Records: st.Records, SuperPackets: st.SuperPackets,
		Blocks: st.Blocks, NoCopyDropped: st.NoCopyDropped,
		Coalesced: st.Merged, PassedThrough: st.Records - st.SuperPackets,
		GSO: map[string]int64{}, Segments: map[string]int64{}, Refused: map[string]int64{}, Flushes: map[string]int64{},
		Order: o.Order, Seconds: d.Seconds(), TunnelCoalesced: st.TunnelMerged,
	}
	if st.Packets > 0 {
		s.MergedPercent = float64(int(1000*float64(st.Merged)/float64(st.Packets))) / 10
	}
	if st.SuperPackets > 0 {
		s.MeanSegments = float64(int(10*float64(st.Merged)/float64(st.SuperPackets))) / 10
	}
	for _, t := range []gso.Type{gso.TCPv4, gso.TCPv6, gso.UDPL4, gso.UDP} {
		n := st.GSO[t] - st.Tunnel[0][t] - st.Tunnel[1][t] // counted apart below
		if n > 0 {
			s.GSO[t.String()] = n
		}
		for v, outer := range [...]gso.Type{gso.UDPTunnel4, gso.UDPTunnel6} {
			if n := st.Tunnel[v][t]; n > 0 {
				s.GSO[(outer | t).String()] = n
			}
		}
	}
	for i, n := range st.Segs {
		if n > 0 {
			s.Segments[segBuckets[i]] = n
		}
	}
	for _, r := range Reasons() {
		if n := st.Refused[r]; n > 0 {
			s.Refused[r.Key()] = n
		}
		if n := st.Flushes[r]; n > 0 {
			s.Flushes[r.Key()] = n
		}
	}
	return s
}

// SegmentBuckets are the keys of Segments, fewest segments first: the order
// to show the histogram in.
func (s *Summary) SegmentBuckets() []string { return SegmentBucketNames() }

func (st *Stats) countSegs(n int) { st.Segs[SegmentBucket(n)]++ }

// SegmentBucket is the bucket of Stats.Segs a super-packet of n segments
// counts in; SegmentBucketNames names them.
func SegmentBucket(n int) int {
	for i := range len(segBuckets) - 1 {
		if n <= 2<<i {
			return i
		}
	}
	return len(segBuckets) - 1
}

// SegmentBucketNames names the buckets of Stats.Segs, fewest segments
// first.
func SegmentBucketNames() []string { return slices.Clone(segBuckets[:]) }

// Add adds o's counts to st: the coalescers of several pipelines as one.
func (st *Stats) Add(o *Stats) {
	st.Packets += o.Packets
	st.Blocks += o.Blocks
	st.NoCopyDropped += o.NoCopyDropped
	st.Bytes += o.Bytes
	st.Records += o.Records
	st.SuperPackets += o.SuperPackets
	st.Merged += o.Merged
	st.TunnelMerged += o.TunnelMerged
	for i := range st.Refused {
		st.Refused[i] += o.Refused[i]
		st.Flushes[i] += o.Flushes[i]
	}
	for i := range st.Segs {
		st.Segs[i] += o.Segs[i]
	}
	for i := range st.GSO {
		st.GSO[i] += o.GSO[i]
		st.Tunnel[0][i] += o.Tunnel[0][i]
		st.Tunnel[1][i] += o.Tunnel[1][i]
	}
}
