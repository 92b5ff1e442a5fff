package capfile

import (
	"errors"
	"fmt"

	"github.com/gsoreplay/gsoreplay/pcaps"

	"github.com/gsoreplay/gsoreplay/pcaps/pcapng"
)

// A coalesced pcapng file of a pcapng capture keeps the capture's blocks;
// only its section headers change: the Origin comment goes before their
// first option and their section length becomes "not given", since the
// coalesced section is shorter. markSection and unmarkSection do and undo
// that, byte for byte.

var errStop = errors.New("stop")

func sectionOf(raw []byte) (pcapng.SectionHeader, error) {
	order, ok := pcapng.SectionOrder(raw)
	if !ok || len(raw) < 28 {
		return pcapng.SectionHeader{}, fmt.Errorf("not a section header block (%d bytes)", len(raw))
	}
	return pcapng.SectionHeader{Block: pcapng.Block{Bytes: raw, Order: order}}, nil
}

// markSection appends to dst the section header raw with the origin
// comment of a pcapng capture.
func markSection(dst, raw []byte) ([]byte, error) {
	s, err := sectionOf(raw)
	if err != nil {
		return dst, err
	}
	o := Origin{Format: pcaps.FormatPcapNG, SectionLength: s.SectionLength()}
	start := len(dst)
	dst, err = pcapng.Insert(dst, s.Block, pcapng.OptComment, []byte(o.String()))
	if err != nil {
		return dst, err
	}
	out := pcapng.SectionHeader{Block: pcapng.Block{Bytes: dst[start:], Order: s.Order}}
	out.SetSectionLength(-1)
	return dst, nil
}

// unmarkSection appends to dst the section header raw as the capture had
// it, if markSection marked it; else as it is.
func unmarkSection(dst, raw []byte) ([]byte, error) {
	s, err := sectionOf(raw)
	if err != nil {
		return dst, err
	}
	o, err := s.Options()
	if err != nil {
		return dst, err
	}
	var origin Origin
	marked := false
	o.Each(func(code uint16, v []byte) error {
		// Only the first option can be the mark.
		if code == pcapng.OptComment {
			origin, marked = ParseOrigin(string(v))
		}
		return errStop
	})
	if !marked {
		return append(dst, raw...), nil
	}
	start := len(dst)
	if dst, err = pcapng.Remove(dst, s.Block); err != nil {
		return dst, err
	}
	out := pcapng.SectionHeader{Block: pcapng.Block{Bytes: dst[start:], Order: s.Order}}
	out.SetSectionLength(origin.SectionLength)
	return dst, nil
}
