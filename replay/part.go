package replay

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Part is one process's share of a capture when several replay it
// together, on one host or many (--shard K/N): connections (both
// directions) are shared between the N parts by the rule that shares them
// between pipelines (steer: a connection goes to the part with the least
// work so far when it first appears), which depends on nothing but the
// capture, so that N processes reading it agree on every packet without
// talking; packets of no connection (not TCP or UDP over IP, IP
// fragments) all go to part 0. Within a part, pipelines (Options.Threads)
// share its connections again. The zero Part, like 0/1, is the whole
// capture.
type Part struct {
	K, N int
}

// ParsePart reads "K/N", 0 <= K < N.
func ParsePart(s string) (Part, error) {
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil {
		return Part{}, optionError("Part", s, "want K/N, e.g. 0/3")
	}
	p := Part{K: k, N: n}
	return p, p.Validate()
}

// Validate reports a part out of range.
func (p Part) Validate() error {
	if p == (Part{}) {
		return nil
	}
	if p.N < 1 || p.N > MaxParts || p.K < 0 || p.K >= p.N {
		return optionError("Part", p.String(), fmt.Sprintf("want K/N with 0 <= K < N <= %d", MaxParts))
	}
	return nil
}

func (p Part) String() string { return fmt.Sprintf("%d/%d", p.K, p.N) }

// MaxParts bounds Part.N.
const MaxParts = 1 << 16

// PartReport is what one pass took of the capture for a Part: Packets of
// its CapturePackets records, and fingerprints of their record numbers
// (a sum of a hash of each; hexadecimal) that the reports of all parts of
// a run add up to the capture's when every record was taken exactly once.
type PartReport struct {
	Part               string `json:"shard"`
	CapturePackets     int64  `json:"capture_packets"`
	Packets            int64  `json:"packets"`
	Fingerprint        string `json:"fingerprint"`
	CaptureFingerprint string `json:"capture_fingerprint"`
}

// partFilter keeps a Part's packets as a reader goes through the capture
// (every record, in order), and counts what it kept.
type partFilter struct {
	k                   int
	steer               *steer
	records, kept       int64
	keptSum, recordsSum uint64
}

// newPartFilter returns a filter for p, or nil for the whole capture.
func newPartFilter(p Part) *partFilter {
	if p.N <= 1 {
		return nil
	}
	return &partFilter{k: p.K, steer: newSteer(p.N)}
}

// keep reports whether the record-th packet of the capture is the part's;
// a nil filter keeps everything.
func (f *partFilter) keep(p *pcaps.Packet, record int64) bool {
	if f == nil {
		return true
	}
	h := RecordHash(record)
	f.records++
	f.recordsSum += h
	if f.steer.Shard(p) != f.k {
		return false
	}
	f.kept++
	f.keptSum += h
	return true
}

// report is what the filter saw, for part p.
func (f *partFilter) report(p Part) *PartReport {
	return &PartReport{Part: p.String(), CapturePackets: f.records, Packets: f.kept,
		Fingerprint: fmt.Sprintf("%#016x", f.keptSum), CaptureFingerprint: fmt.Sprintf("%#016x", f.recordsSum)}
}

// RecordHash is the hash of a record number (1 for the first) that
// PartReport's fingerprints sum (splitmix64's finalizer).
func RecordHash(record int64) uint64 {
	z := uint64(record) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
