package replay

import (
	"sort"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// shardOf is the pipeline, of n, that a packet goes to: by the symmetric hash
// of its connection, so that both directions of a TCP connection or UDP
// flow meet in one pipeline in capture order; packets without one (not TCP
// or UDP over IP, IP fragments) all go to shard 0, where they keep their
// order among themselves.
func shardOf(p *pcaps.Packet, n int) int {
	if n <= 1 {
		return 0
	}
	k, ok := coalesce.FlowOf(p.Data, p.LinkType, p.Interface)
	if !ok {
		return 0
	}
	return int(k.Symmetric() % uint64(n))
}

// frameCost is what one frame weighs against its bytes when Balance evens
// out the work: the kernel's per-skb cost is about that of copying and
// checksumming 200 bytes.
const frameCost = 200

// balance shares connections between n shards by their size rather than by
// hash, when the whole capture is known beforehand (a preload): Add counts
// every packet's connection, Assign places the connections, largest first,
// on the least loaded shard, and Shard then answers as the package-level
// Shard does — both directions of a connection on one shard, packets of no
// connection on shard 0 — but with the shards' work even.
type balance struct {
	n      int
	weight map[uint64]int64 // by Flow.Symmetric
	shard  map[uint64]int
	other  int64 // packets of no connection, all on shard 0
}

// newBalance returns an empty Balance for n shards.
func newBalance(n int) *balance {
	return &balance{n: n, weight: map[uint64]int64{}}
}

// Add counts a packet.
func (b *balance) Add(p *pcaps.Packet) {
	w := int64(len(p.Data)) + frameCost
	if k, ok := coalesce.FlowOf(p.Data, p.LinkType, p.Interface); ok && b.n > 1 {
		b.weight[k.Symmetric()] += w
	} else {
		b.other += w
	}
}

// Assign places the connections counted so far.
func (b *balance) Assign() {
	keys := make([]uint64, 0, len(b.weight))
	for k := range b.weight {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		wi, wj := b.weight[keys[i]], b.weight[keys[j]]
		return wi > wj || wi == wj && keys[i] < keys[j]
	})
	load := make([]int64, max(b.n, 1))
	load[0] = b.other
	b.shard = make(map[uint64]int, len(keys))
	for _, k := range keys {
		least := 0
		for i := range load {
			if load[i] < load[least] {
				least = i
			}
		}
		b.shard[k] = least
		load[least] += b.weight[k]
	}
}

// Shard is the shard of a packet; a connection Add never saw goes by hash.
func (b *balance) Shard(p *pcaps.Packet) int {
	if b.n <= 1 {
		return 0
	}
	k, ok := coalesce.FlowOf(p.Data, p.LinkType, p.Interface)
	if !ok {
		return 0
	}
	h := k.Symmetric()
	if s, ok := b.shard[h]; ok {
		return s
	}
	return int(h % uint64(b.n))
}
