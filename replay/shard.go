package replay

import (
	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Shard is the pipeline, of n, that a packet goes to: by the symmetric hash
// of its connection, so that both directions of a TCP connection or UDP
// flow meet in one pipeline in capture order; packets without one (not TCP
// or UDP over IP, IP fragments) all go to shard 0, where they keep their
// order among themselves.
func Shard(p *pcaps.Packet, n int) int {
	if n <= 1 {
		return 0
	}
	k, ok := coalesce.FlowOf(p.Data, p.LinkType, p.Interface)
	if !ok {
		return 0
	}
	return int(k.Symmetric() % uint64(n))
}
