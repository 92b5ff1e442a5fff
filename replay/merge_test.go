package replay

import (
	"strings"
	"testing"
	"time"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// partCapture is a capture of several connections, both directions, and
// packets of none (ARP), interleaved.
func partCapture() []pcaps.Packet {
	var out []pcaps.Packet
	for k := range 60 {
		p := craft.TCPBulk()
		p.Sport = uint16(40000 + k%7)
		p.Payload = craft.Payload(100+k, byte(k))
		if k%3 == 1 {
			p.Sport, p.Dport = p.Dport, p.Sport
			p.Swap = true
		}
		out = append(out, p.Packet())
		if k%10 == 0 {
			out = append(out, pcaps.Packet{Data: make([]byte, 42), Length: 42, Timestamp: time.Unix(1, 0)})
		}
	}
	return out
}

// TestPartsCoverCapture: the parts of a capture (--shard k/N) take every
// record exactly once, both directions of a connection in one part and
// packets of no connection in part 0 — counted here record by record —
// and Merge finds the reports complete; one report twice, one missing or
// one of another capture are problems.
func TestPartsCoverCapture(t *testing.T) {
	pk := partCapture()
	const n = 3
	owner := make([]int, len(pk))
	for i := range owner {
		owner[i] = -1
	}
	var reps []*Report
	for k := range n {
		f := newPartFilter(Part{K: k, N: n})
		kept := 0
		for i := range pk {
			if f.keep(&pk[i], int64(i+1)) {
				if owner[i] >= 0 {
					t.Fatalf("record %d taken by parts %d and %d", i+1, owner[i], k)
				}
				owner[i] = k
				kept++
			}
		}
		rep := f.report(Part{K: k, N: n})
		if rep.Packets != int64(kept) || rep.CapturePackets != int64(len(pk)) {
			t.Fatalf("part %d: report %+v, kept %d of %d", k, rep, kept, len(pk))
		}
		reps = append(reps, &Report{File: "/a/cap.pcap", Packets: int64(kept), Loops: 1, Part: rep,
			FirstFrameAt: time.Unix(100, int64(k)*1000), LastFrameAt: time.Unix(101, int64(k)*1000)})
	}
	conn := map[string]int{}
	for i := range pk {
		if owner[i] < 0 {
			t.Fatalf("record %d taken by no part", i+1)
		}
		d := pk[i].Data
		if len(d) == 42 {
			if owner[i] != 0 {
				t.Errorf("record %d (no connection) in part %d", i+1, owner[i])
			}
			continue
		}
		// The connection: its two ports, in either direction.
		a, b := string(d[34:36]), string(d[36:38])
		key := min(a, b) + max(a, b)
		if o, ok := conn[key]; ok && o != owner[i] {
			t.Errorf("record %d: its connection is in parts %d and %d", i+1, o, owner[i])
		}
		conn[key] = owner[i]
	}
	used := map[int]bool{}
	for _, o := range conn {
		used[o] = true
	}
	if len(used) < 2 {
		t.Errorf("every connection in one part: %v", conn)
	}

	m, err := Merge(reps)
	if err != nil || !m.Complete || m.ShardPackets != int64(len(pk)) || m.Shards != n || m.File != "cap.pcap" || m.Seconds != 1.000002 {
		t.Fatalf("merge: %+v, %v", m, err)
	}
	for name, c := range map[string]struct {
		reps []*Report
		want string
	}{
		"twice":   {[]*Report{reps[0], reps[1], reps[1]}, "appears twice"},
		"missing": {reps[:2], "shard 2/3 is missing"},
		"other capture": {func() []*Report {
			r := *reps[2]
			p := *r.Part
			p.CaptureFingerprint = "0x1"
			r.Part = &p
			return []*Report{reps[0], reps[1], &r}
		}(), "read another capture"},
		"not sharded": {[]*Report{reps[0], reps[1], {File: "cap.pcap", Loops: 1}}, "not of a shard"},
	} {
		m, err := Merge(c.reps)
		if err != nil || m.Complete || !strings.Contains(strings.Join(m.Problems, "; "), c.want) {
			t.Errorf("%s: complete %v, problems %q, want %q (%v)", name, m.Complete, m.Problems, c.want, err)
		}
	}
}

func TestParsePart(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{{"0/3", true}, {"2/3", true}, {"0/1", true}, {"3/3", false}, {"-1/3", false}, {"1/0", false}, {"1", false}, {"a/b", false}, {"0/70000", false}} {
		p, err := ParsePart(c.in)
		if (err == nil) != c.ok || (c.ok && p.String() != c.in) {
			t.Errorf("%q: %v, %v", c.in, p, err)
		}
	}
}
