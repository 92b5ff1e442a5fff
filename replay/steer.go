package replay

import (
	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// steerMax is the most connections a Steer remembers; later ones go by
// hash. It bounds its memory (about 40 bytes a connection).
const steerMax = 1 << 16

// steer shares connections between n shards while a capture streams by,
// when nothing is known of it beforehand: a connection seen for the first
// time goes to the shard with the least work so far (bytes, and a cost
// per frame), and keeps it. A capture of a few heavy connections — what
// hashing splits worst — is then split by their traffic, whether they run
// at once or one after another (recordings joined end to end: at top speed
// each pipeline goes through its share on its own). A steer depends on
// nothing but the packets it sees, so that pipelines that read the same
// capture, each with a steer of its own, agree on every answer. Both
// directions of a connection go to one shard, packets of no connection to
// shard 0, and connections beyond the first steerMax by hash (Shard).
type steer struct {
	n     int
	shard map[uint64]uint16 // by Flow.Symmetric
	work  []int64
	// The last connection, remembered: consecutive packets are mostly of
	// one, and comparing it costs less than hashing it.
	last      coalesce.Flow
	lastShard int
}

// newSteer returns a Steer for n shards.
func newSteer(n int) *steer {
	return &steer{n: n, shard: map[uint64]uint16{}, work: make([]int64, max(n, 1)), lastShard: -1}
}

// Shard is the shard of the next packet of the capture.
func (s *steer) Shard(p *pcaps.Packet) int {
	if s.n <= 1 {
		return 0
	}
	sh := 0
	if k, ok := coalesce.FlowOf(p.Data, p.LinkType, p.Interface); ok {
		sh = s.lastShard
		if sh < 0 || k != s.last && k != s.last.Reverse() {
			h := k.Symmetric()
			if v, ok := s.shard[h]; ok {
				sh = int(v)
			} else if len(s.shard) < steerMax {
				sh = 0
				for i, w := range s.work {
					if w < s.work[sh] {
						sh = i
					}
				}
				s.shard[h] = uint16(sh)
			} else {
				sh = int(h % uint64(s.n))
			}
			s.last, s.lastShard = k, sh
		}
	}
	s.work[sh] += int64(len(p.Data)) + frameCost
	return sh
}
