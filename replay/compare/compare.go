package compare

import (
	"fmt"
	"strings"

	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Expected is a frame that must come out of the kernel.
type Expected struct {
	Data []byte
	// Normalized, when not empty, says why this frame is what the reference
	// segmenter produces rather than a frame of the original capture (for
	// example a super-frame captured whole on a TSO host).
	Normalized string
	// Tag is the caller's, for a Matcher: given back to Matcher.Free.
	Tag uint64
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

// Add adds o's counts to r, its details after r's with prefix.
func (r *Result) Add(o Result, prefix string) {
	r.Exact += o.Exact
	r.Normalized += o.Normalized
	r.Mismatched += o.Mismatched
	r.Missing += o.Missing
	r.Extra += o.Extra
	r.Reordered += o.Reordered
	for _, d := range o.Details {
		r.detail("%s%s", prefix, d)
	}
	r.MismatchedPairs = append(r.MismatchedPairs, o.MismatchedPairs...)
	for k, v := range o.NormalizedWhy {
		if r.NormalizedWhy == nil {
			r.NormalizedWhy = map[string]int{}
		}
		r.NormalizedWhy[k] += v
	}
}

func (r *Result) detail(format string, args ...any) {
	if len(r.Details) < MaxDetails {
		r.Details = append(r.Details, fmt.Sprintf(format, args...))
	}
}

// Frames matches captured frames to expected ones, all known at once: a
// Matcher given every expected frame, then every captured one.
func Frames(exp []Expected, got [][]byte, strict bool) Result {
	m := NewMatcher(strict)
	for _, e := range exp {
		m.Expect(e)
	}
	for _, g := range got {
		m.Got(g)
	}
	return m.Result()
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
	eth := header.Ethernet(b)
	if !eth.IsValid() {
		return []field{{"frame", hex(b)}}
	}
	out = append(out, field{"Ethernet destination", hex(eth.Destination())}, field{"Ethernet source", hex(eth.Source())})
	tags := 0
	off, etype, _ := eth.Tags(func(t header.VLANTag) {
		tags++
		num(fmt.Sprintf("VLAN tag %d", tags), uint64(t.TPID())<<16|uint64(t.TCI()), 8)
	})
	num("ethertype", uint64(etype), 4)
	var proto uint8
	var l4 []byte
	switch {
	case etype == header.EtherTypeIPv4 && len(b) >= off+header.IPv4MinimumSize:
		ip := header.IPv4(b[off:])
		num("IPv4 version/IHL", uint64(ip.Version())<<4|uint64(ip.HeaderLength()/4), 2)
		num("IPv4 TOS", uint64(ip.TOS()), 2)
		num("IPv4 total length", uint64(ip.TotalLength()), 4)
		num("IPv4 ID", uint64(ip.ID()), 4)
		num("IPv4 flags/fragment offset", uint64(ip.FlagsFragment()), 4)
		num("IPv4 TTL", uint64(ip.TTL()), 2)
		num("IPv4 protocol", uint64(ip.Protocol()), 2)
		num("IPv4 header checksum", uint64(ip.Checksum()), 4)
		out = append(out, field{"IPv4 addresses", hex(ip.Addresses())})
		if n := ip.HeaderLength(); n >= header.IPv4MinimumSize && n <= len(ip) {
			out = append(out, field{"IPv4 options", hex(ip.Options())})
			proto, l4 = ip.Protocol(), ip.Payload()
		}
	case etype == header.EtherTypeIPv6 && len(b) >= off+header.IPv6MinimumSize:
		ip := header.IPv6(b[off:])
		num("IPv6 traffic class", uint64(ip.TrafficClass()), 2)
		num("IPv6 flow label", uint64(ip.FlowLabel()), 5)
		num("IPv6 payload length", uint64(ip.PayloadLength()), 4)
		num("IPv6 next header", uint64(ip.NextHeader()), 2)
		num("IPv6 hop limit", uint64(ip.HopLimit()), 2)
		out = append(out, field{"IPv6 addresses", hex(ip.Addresses())})
		proto, l4 = ip.NextHeader(), ip[header.IPv6MinimumSize:]
	}
	switch {
	case proto == header.ProtoTCP && len(l4) >= header.TCPMinimumSize:
		th := header.TCP(l4)
		out = append(out, field{"TCP ports", fmt.Sprintf("%08x", th.Ports())})
		num("TCP seq", uint64(th.SequenceNumber()), 8)
		num("TCP ack", uint64(th.AckNumber()), 8)
		num("TCP data offset/reserved", uint64(th.DataOffset()/4<<4)|uint64(th.Reserved()), 2)
		out = append(out, field{"TCP flags", th.Flags().String()})
		num("TCP window", uint64(th.WindowSize()), 4)
		num("TCP checksum", uint64(th.Checksum()), 4)
		num("TCP urgent pointer", uint64(th.UrgentPointer()), 4)
		if th.IsValid() {
			out = append(out, field{"TCP options", hex(th.Options())}, field{"TCP payload", payloadSig(th.Payload())})
		}
	case proto == header.ProtoUDP && len(l4) >= header.UDPSize:
		uh := header.UDP(l4)
		out = append(out, field{"UDP ports", fmt.Sprintf("%08x", uh.Ports())})
		num("UDP length", uint64(uh.Length()), 4)
		num("UDP checksum", uint64(uh.Checksum()), 4)
		out = append(out, field{"UDP payload", payloadSig(uh.Payload())})
	}
	return out
}

func payloadSig(p []byte) string {
	return fmt.Sprintf("%d bytes %x", len(p), p[:min(len(p), 16)])
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
