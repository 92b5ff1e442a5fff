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
// comment: "gsoreplay source format=pcap tsresol=us snaplen=65535".
type Origin struct {
	Format     pcaps.Format
	Nanosecond bool
	SnapLen    uint32
}

const sourcePrefix = "gsoreplay source "

// OriginOf describes the capture r reads.
func OriginOf(r *pcaps.Reader) Origin {
	return Origin{Format: r.Format(), Nanosecond: r.Resolution() == gopacket.TimestampResolutionNanosecond, SnapLen: r.Snaplen()}
}

func (s Origin) String() string {
	res := "us"
	if s.Nanosecond {
		res = "ns"
	}
	return fmt.Sprintf("%sformat=%s tsresol=%s snaplen=%d", sourcePrefix, s.Format, res, s.SnapLen)
}

// ParseOrigin reads a section comment written by Origin.String.
func ParseOrigin(comment string) (Origin, bool) {
	rest, ok := strings.CutPrefix(comment, sourcePrefix)
	if !ok {
		return Origin{}, false
	}
	var s Origin
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
		}
	}
	return s, true
}
