package capfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Origin describes the capture a coalesced file came from, so that segment
// can write the original format back. It is stored as the pcapng section
// comment: "gsoreplay source format=pcap tsresol=us snaplen=65535". A
// pcapng capture keeps its own sections: the comment is put before the
// first option of each section header, whose section length it records
// (seclen, when the header gave one) as the coalesced file cannot keep it.
type Origin struct {
	Format     pcaps.Format
	Nanosecond bool
	SnapLen    uint32
	// SectionLength is a pcapng section header's section length (-1: not
	// given).
	SectionLength int64
}

const sourcePrefix = "gsoreplay source "

// OriginOf describes the capture r reads.
func OriginOf(r *pcaps.Reader) Origin {
	return Origin{Format: r.Format(), Nanosecond: r.Resolution() == gopacket.TimestampResolutionNanosecond, SnapLen: r.Snaplen(), SectionLength: -1}
}

func (s Origin) String() string {
	res := "us"
	if s.Nanosecond {
		res = "ns"
	}
	out := fmt.Sprintf("%sformat=%s tsresol=%s snaplen=%d", sourcePrefix, s.Format, res, s.SnapLen)
	if s.SectionLength != -1 {
		out += fmt.Sprintf(" seclen=%d", s.SectionLength)
	}
	return out
}

// ParseOrigin reads a section comment written by Origin.String.
func ParseOrigin(comment string) (Origin, bool) {
	rest, ok := strings.CutPrefix(comment, sourcePrefix)
	if !ok {
		return Origin{}, false
	}
	s := Origin{SectionLength: -1}
	for _, tok := range strings.Fields(rest) {
		k, v, _ := strings.Cut(tok, "=")
		switch k {
		case "format":
			if v == "pcapng" {
				s.Format = pcaps.FormatPcapNG
			}
		case "tsresol":
			s.Nanosecond = v == "ns"
		case "snaplen":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return Origin{}, false
			}
			s.SnapLen = uint32(n)
		case "seclen":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return Origin{}, false
			}
			s.SectionLength = n
		}
	}
	return s, true
}
