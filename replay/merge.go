package replay

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// Merged is one report made of the reports of the N shards of a run
// (Options.Part, each a process of its own, on one host or many): sums,
// the span from the first frame of any to the last of any, a line per
// shard, and whether the shards together took every record of the
// capture exactly once (Complete; Problems says what is wrong otherwise).
type Merged struct {
	File         string           `json:"file"`
	Shards       int              `json:"shards"`
	Packets      int64            `json:"packets"`
	Bytes        int64            `json:"bytes"`
	SuperPackets int64            `json:"super_packets"`
	Sends        int64            `json:"sends"`
	Failed       int64            `json:"failed"`
	Errors       map[string]int64 `json:"errors,omitempty"`
	FirstFrameAt time.Time        `json:"first_frame_at"`
	LastFrameAt  time.Time        `json:"last_frame_at"`
	Seconds      float64          `json:"seconds"`
	PPS          float64          `json:"pps"`
	Mbps         float64          `json:"mbps"`
	// CapturePackets is the capture's records in one pass, of which the
	// shards took ShardPackets together.
	CapturePackets int64         `json:"capture_packets"`
	ShardPackets   int64         `json:"shard_packets"`
	Complete       bool          `json:"complete"`
	Problems       []string      `json:"problems,omitempty"`
	Parts          []MergedShard `json:"per_shard"`
}

// MergedShard is one shard's line of a Merged report.
// Records is how many of the capture's records the shard took; Packets
// how many frames it sent.
type MergedShard struct {
	Shard        string    `json:"shard"`
	Interface    string    `json:"interface"`
	Records      int64     `json:"records"`
	Packets      int64     `json:"packets"`
	FirstFrameAt time.Time `json:"first_frame_at"`
	LastFrameAt  time.Time `json:"last_frame_at"`
	PPS          float64   `json:"pps"`
}

// Merge makes one report of the reports of a sharded run. It fails only
// when there is nothing to merge; everything that keeps the run from
// covering the capture exactly once is a Problem.
func Merge(reps []*Report) (*Merged, error) {
	if len(reps) == 0 {
		return nil, fmt.Errorf("report merge: no reports")
	}
	m := &Merged{Errors: map[string]int64{}}
	problem := func(format string, args ...any) { m.Problems = append(m.Problems, fmt.Sprintf(format, args...)) }
	var keptSum uint64
	var captureFP string
	seen := map[int]bool{}
	for i, r := range reps {
		m.Packets += r.Packets
		m.Bytes += r.Bytes
		m.SuperPackets += r.SuperPackets
		m.Sends += r.Sends
		m.Failed += r.Failed
		for k, v := range r.Errors {
			m.Errors[k] += v
		}
		if !r.FirstFrameAt.IsZero() && (m.FirstFrameAt.IsZero() || r.FirstFrameAt.Before(m.FirstFrameAt)) {
			m.FirstFrameAt = r.FirstFrameAt
		}
		if r.LastFrameAt.After(m.LastFrameAt) {
			m.LastFrameAt = r.LastFrameAt
		}
		name := filepath.Base(r.File)
		if i == 0 {
			m.File = name
		} else if name != m.File {
			problem("report %d is of %s, not %s", i+1, name, m.File)
		}
		if r.Interrupted {
			problem("report %d was interrupted", i+1)
		}
		if r.Loops != reps[0].Loops {
			problem("report %d made %d loops, report 1 %d", i+1, r.Loops, reps[0].Loops)
		}
		line := MergedShard{Interface: r.Interface, Packets: r.Packets, FirstFrameAt: r.FirstFrameAt, LastFrameAt: r.LastFrameAt, PPS: r.PPS}
		p := r.Part
		if p == nil {
			problem("report %d is not of a shard (no --shard)", i+1)
			m.Parts = append(m.Parts, line)
			continue
		}
		line.Shard, line.Records = p.Part, p.Packets
		m.Parts = append(m.Parts, line)
		part, err := ParsePart(p.Part)
		if err != nil {
			problem("report %d: shard %q", i+1, p.Part)
			continue
		}
		fp, err1 := strconv.ParseUint(p.Fingerprint, 0, 64)
		_, err2 := strconv.ParseUint(p.CaptureFingerprint, 0, 64)
		if err1 != nil || err2 != nil {
			problem("report %d: fingerprints %q, %q", i+1, p.Fingerprint, p.CaptureFingerprint)
			continue
		}
		switch {
		case m.Shards == 0:
			m.Shards, m.CapturePackets, captureFP = part.N, p.CapturePackets, p.CaptureFingerprint
		case part.N != m.Shards:
			problem("shard %s is one of %d, not %d", p.Part, part.N, m.Shards)
		case p.CapturePackets != m.CapturePackets || p.CaptureFingerprint != captureFP:
			problem("shard %s read another capture (%d records, fingerprint %s; not %d, %s)", p.Part, p.CapturePackets, p.CaptureFingerprint, m.CapturePackets, captureFP)
		}
		if seen[part.K] {
			problem("shard %s appears twice", p.Part)
		}
		seen[part.K] = true
		m.ShardPackets += p.Packets
		keptSum += fp
	}
	for k := range m.Shards {
		if !seen[k] {
			problem("shard %d/%d is missing", k, m.Shards)
		}
	}
	if m.Shards > 0 && len(m.Problems) == 0 {
		want, _ := strconv.ParseUint(captureFP, 0, 64)
		switch {
		case m.ShardPackets != m.CapturePackets:
			problem("the shards took %d of the capture's %d records", m.ShardPackets, m.CapturePackets)
		case keptSum != want:
			problem("the shards' records are not the capture's, each once (fingerprints %#016x, want %s)", keptSum, captureFP)
		}
	}
	if m.Failed > 0 {
		problem("%d sends were refused", m.Failed)
	}
	k := func(s string) int { p, _ := ParsePart(s); return p.K }
	sort.SliceStable(m.Parts, func(i, j int) bool { return k(m.Parts[i].Shard) < k(m.Parts[j].Shard) })
	if !m.FirstFrameAt.IsZero() && m.LastFrameAt.After(m.FirstFrameAt) {
		m.Seconds = m.LastFrameAt.Sub(m.FirstFrameAt).Seconds()
		m.PPS = float64(m.Packets) / m.Seconds
		m.Mbps = float64(m.Bytes) * 8 / m.Seconds / 1e6
	}
	m.Complete = len(m.Problems) == 0
	return m, nil
}
