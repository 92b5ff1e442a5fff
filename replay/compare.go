package replay

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/gsoreplay/gsoreplay/coalesce"
)

// Expected is a frame that must come out of the kernel.
type Expected struct {
	Data []byte
	// Normalized, when not empty, says why this frame is what the reference
	// segmenter produces rather than a frame of the original capture (for
	// example a super-frame captured whole on a TSO host).
	Normalized string
}

// Result classifies every expected and every captured frame.
type Result struct {
	Exact      int
	Normalized int
	Mismatched int
	Missing    int
	Extra      int
	// Reordered counts frames that came out in another order than expected
	// within their flow (or globally, in strict order).
	Reordered int
	// Details names the first differences, at most MaxDetails of them.
	Details []string
	// MismatchedPairs holds (expected, captured) frames for --keep.
	MismatchedPairs [][2][]byte
	// NormalizedWhy counts the reasons of normalized frames.
	NormalizedWhy map[string]int
}

// MaxDetails bounds the differences a Result spells out.
const MaxDetails = 20

func (r *Result) detail(format string, args ...any) {
	if len(r.Details) < MaxDetails {
		r.Details = append(r.Details, fmt.Sprintf(format, args...))
	}
}

type flowState struct {
	pending []int // expected indices not yet matched, in order
	last    int   // highest expected index matched so far
}

// Compare matches captured frames to expected ones. Frames are grouped by
// flow (Describe's flow identity; frames without one form a group of their
// own); within a flow, the first identical unmatched frame matches. Frames
// left over are paired in order as mismatches, the rest are missing or
// extra. strict also checks the global order.
func Compare(exp []Expected, got [][]byte, strict bool) Result {
	res := Result{NormalizedWhy: map[string]int{}}
	flows := map[coalesce.FlowID]*flowState{}
	keyOf := func(b []byte) coalesce.FlowID {
		k, _ := coalesce.FlowOf(b, layers.LinkTypeEthernet, 0)
		return k
	}
	for i := range exp {
		k := keyOf(exp[i].Data)
		f := flows[k]
		if f == nil {
			f = &flowState{last: -1}
			flows[k] = f
		}
		f.pending = append(f.pending, i)
	}
	matched := make([]bool, len(exp))
	var extra []int // captured frames without an identical expected one
	globalLast := -1
	const window = 4096 // how far ahead in a flow an identical frame is looked for
	for gi, g := range got {
		f := flows[keyOf(g)]
		hit := -1
		if f != nil {
			for j, idx := range f.pending {
				if j >= window {
					break
				}
				if !matched[idx] && bytes.Equal(exp[idx].Data, g) {
					hit = j
					break
				}
			}
		}
		if hit < 0 {
			extra = append(extra, gi)
			continue
		}
		idx := f.pending[hit]
		f.pending = append(f.pending[:hit], f.pending[hit+1:]...)
		matched[idx] = true
		if idx < f.last || (strict && idx < globalLast) {
			res.Reordered++
			res.detail("frame %d of the output came out of order (expected position %d)", gi+1, idx+1)
		}
		f.last = max(f.last, idx)
		globalLast = max(globalLast, idx)
		if exp[idx].Normalized != "" {
			res.Normalized++
			res.NormalizedWhy[exp[idx].Normalized]++
		} else {
			res.Exact++
		}
	}
	// Pair what is left, flow by flow, in order.
	left := map[coalesce.FlowID][]int{}
	for _, gi := range extra {
		k := keyOf(got[gi])
		left[k] = append(left[k], gi)
	}
	for i := range exp {
		if matched[i] {
			continue
		}
		k := keyOf(exp[i].Data)
		if l := left[k]; len(l) > 0 {
			gi := l[0]
			left[k] = l[1:]
			res.Mismatched++
			res.detail("%s at frame %d", Diff(exp[i].Data, got[gi]), i+1)
			res.MismatchedPairs = append(res.MismatchedPairs, [2][]byte{exp[i].Data, got[gi]})
			continue
		}
		res.Missing++
		res.detail("frame %d missing (%s)", i+1, Summary(exp[i].Data))
	}
	for _, l := range left {
		for _, gi := range l {
			res.Extra++
			res.detail("extra frame %d in the output (%s)", gi+1, Summary(got[gi]))
		}
	}
	return res
}

// field is one named header field of a frame.
type field struct {
	name  string
	value string
}

// fields decodes the header fields of an Ethernet frame for Diff.
func fields(b []byte) []field {
	var out []field
	hex := func(v []byte) string { return fmt.Sprintf("%x", v) }
	num := func(name string, v uint64, w int) {
		out = append(out, field{name, fmt.Sprintf("%#0*x", w, v)})
	}
	if len(b) < 14 {
		return []field{{"frame", hex(b)}}
	}
	out = append(out, field{"Ethernet destination", hex(b[0:6])}, field{"Ethernet source", hex(b[6:12])})
	off, etype := 12, binary.BigEndian.Uint16(b[12:14])
	for tag := 1; etype == 0x8100 || etype == 0x88a8 || etype == 0x9100; tag++ {
		if len(b) < off+6 {
			break
		}
		num(fmt.Sprintf("VLAN tag %d", tag), uint64(binary.BigEndian.Uint32(b[off:off+4])), 8)
		off += 4
		etype = binary.BigEndian.Uint16(b[off : off+2])
	}
	num("ethertype", uint64(etype), 4)
	ip := b[off+2:]
	var proto uint8
	var l4 []byte
	switch {
	case etype == 0x0800 && len(ip) >= 20:
		ihl := int(ip[0]&0x0f) * 4
		num("IPv4 version/IHL", uint64(ip[0]), 2)
		num("IPv4 TOS", uint64(ip[1]), 2)
		num("IPv4 total length", uint64(binary.BigEndian.Uint16(ip[2:])), 4)
		num("IPv4 ID", uint64(binary.BigEndian.Uint16(ip[4:])), 4)
		num("IPv4 flags/fragment offset", uint64(binary.BigEndian.Uint16(ip[6:])), 4)
		num("IPv4 TTL", uint64(ip[8]), 2)
		num("IPv4 protocol", uint64(ip[9]), 2)
		num("IPv4 header checksum", uint64(binary.BigEndian.Uint16(ip[10:])), 4)
		out = append(out, field{"IPv4 addresses", hex(ip[12:20])})
		if ihl >= 20 && len(ip) >= ihl {
			out = append(out, field{"IPv4 options", hex(ip[20:ihl])})
			proto, l4 = ip[9], ip[ihl:]
		}
	case etype == 0x86dd && len(ip) >= 40:
		v := binary.BigEndian.Uint32(ip)
		num("IPv6 traffic class", uint64(v>>20&0xff), 2)
		num("IPv6 flow label", uint64(v&0xfffff), 5)
		num("IPv6 payload length", uint64(binary.BigEndian.Uint16(ip[4:])), 4)
		num("IPv6 next header", uint64(ip[6]), 2)
		num("IPv6 hop limit", uint64(ip[7]), 2)
		out = append(out, field{"IPv6 addresses", hex(ip[8:40])})
		proto, l4 = ip[6], ip[40:]
	}
	switch {
	case proto == 6 && len(l4) >= 20:
		doff := int(l4[12]>>4) * 4
		out = append(out, field{"TCP ports", hex(l4[0:4])})
		num("TCP seq", uint64(binary.BigEndian.Uint32(l4[4:])), 8)
		num("TCP ack", uint64(binary.BigEndian.Uint32(l4[8:])), 8)
		num("TCP data offset/reserved", uint64(l4[12]), 2)
		out = append(out, field{"TCP flags", tcpFlags(l4[13])})
		num("TCP window", uint64(binary.BigEndian.Uint16(l4[14:])), 4)
		num("TCP checksum", uint64(binary.BigEndian.Uint16(l4[16:])), 4)
		num("TCP urgent pointer", uint64(binary.BigEndian.Uint16(l4[18:])), 4)
		if doff >= 20 && len(l4) >= doff {
			out = append(out, field{"TCP options", hex(l4[20:doff])}, field{"TCP payload", payloadSig(l4[doff:])})
		}
	case proto == 17 && len(l4) >= 8:
		out = append(out, field{"UDP ports", hex(l4[0:4])})
		num("UDP length", uint64(binary.BigEndian.Uint16(l4[4:])), 4)
		num("UDP checksum", uint64(binary.BigEndian.Uint16(l4[6:])), 4)
		out = append(out, field{"UDP payload", payloadSig(l4[8:])})
	}
	return out
}

func payloadSig(p []byte) string {
	return fmt.Sprintf("%d bytes %x", len(p), p[:min(len(p), 16)])
}

func tcpFlags(f uint8) string {
	names := []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	var s []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "|")
}

// Diff names the first fields in which got differs from exp, e.g.
// "IPv4 ID 0x1c2e != 0x1c2f".
func Diff(exp, got []byte) string {
	fe, fg := fields(exp), fields(got)
	var d []string
	for i := 0; i < min(len(fe), len(fg)) && len(d) < 3; i++ {
		if fe[i].name != fg[i].name {
			d = append(d, fmt.Sprintf("headers differ from %s on", fe[i].name))
			break
		}
		if fe[i].value != fg[i].value {
			d = append(d, fmt.Sprintf("%s %s != %s", fe[i].name, fg[i].value, fe[i].value))
		}
	}
	if len(d) == 0 {
		if len(exp) != len(got) {
			return fmt.Sprintf("frame length %d != %d", len(got), len(exp))
		}
		for i := range exp {
			if exp[i] != got[i] {
				return fmt.Sprintf("byte %d %#02x != %#02x", i, got[i], exp[i])
			}
		}
	}
	return strings.Join(d, ", ")
}

// Summary is a one-line description of a frame for reports.
func Summary(b []byte) string {
	fs := fields(b)
	var parts []string
	for _, f := range fs {
		switch f.name {
		case "IPv4 ID", "TCP seq", "TCP flags", "UDP length":
			parts = append(parts, f.name+" "+f.value)
		}
	}
	return fmt.Sprintf("%d bytes %s", len(b), strings.Join(parts, ", "))
}
