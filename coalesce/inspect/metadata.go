package inspect

import (
	"encoding/binary"
	"fmt"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/pcapng"
)

// Metadata is what a capture carries besides its packets: a pcapng file's
// sections and interfaces with their options, its other blocks, packets
// with options, and the oddities read (pcap too).
type Metadata struct {
	pcaps.Metadata
	Sections   []Section   `json:"section_headers,omitempty"`
	Interfaces []Interface `json:"interface_descriptions,omitempty"`

	littleEndian bool // the current section's byte order
}

// Section is a section header's options.
type Section struct {
	Comments    []string `json:"comments,omitempty"`
	Hardware    string   `json:"hardware,omitempty"`
	OS          string   `json:"os,omitempty"`
	Application string   `json:"application,omitempty"`
}

// Interface is an interface description's options that a reader shows.
type Interface struct {
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	OS          string   `json:"os,omitempty"`
	Filter      string   `json:"filter,omitempty"`
	Resolution  string   `json:"timestamp_resolution"`
	Comments    []string `json:"comments,omitempty"`
}

// Option codes (draft-ietf-opsawg-pcapng §4.2, §4.3) that inspect shows.
const (
	optShbHardware = 2
	optShbOS       = 3
	optShbUserAppl = 4
	optIfName      = 2
	optIfDesc      = 3
	optIfFilter    = 11
	optIfOS        = 12
)

// addBlock takes in a pcapng block record (Packet.IsBlock).
func (m *Metadata) addBlock(raw []byte) {
	if len(raw) < pcapng.MinBlock || pcapng.IsSection(raw) && len(raw) < 28 {
		return // the reader hands out no such block; a caller might
	}
	order, isSection := pcapng.SectionOrder(raw)
	if !isSection {
		order = binary.BigEndian
		if m.littleEndian {
			order = binary.LittleEndian
		}
	}
	b := pcapng.Block{Bytes: raw, Order: order}
	opts, err := b.Options()
	if err != nil {
		return
	}
	switch b.Type() {
	case pcapng.TypeSectionHeader:
		m.littleEndian = order == binary.LittleEndian
		var s Section
		opts.Each(func(code uint16, v []byte) error {
			switch code {
			case pcapng.OptComment:
				s.Comments = append(s.Comments, string(v))
			case optShbHardware:
				s.Hardware = string(v)
			case optShbOS:
				s.OS = string(v)
			case optShbUserAppl:
				s.Application = string(v)
			}
			return nil
		})
		m.Sections = append(m.Sections, s)
	case pcapng.TypeInterfaceDescription:
		in := Interface{Resolution: resolution(pcapng.ResolutionOf(pcapng.InterfaceDescription{Block: b}))}
		opts.Each(func(code uint16, v []byte) error {
			switch code {
			case pcapng.OptComment:
				in.Comments = append(in.Comments, string(v))
			case optIfName:
				in.Name = string(v)
			case optIfDesc:
				in.Description = string(v)
			case optIfOS:
				in.OS = string(v)
			case optIfFilter:
				if len(v) > 1 && v[0] == 0 { // a libpcap filter string
					in.Filter = string(v[1:])
				}
			}
			return nil
		})
		m.Interfaces = append(m.Interfaces, in)
	}
}

func resolution(r pcapng.Resolution) string {
	n := r.Tsresol & 0x7F
	s := fmt.Sprintf("1e-%d s", n)
	switch {
	case r.Tsresol&0x80 != 0:
		s = fmt.Sprintf("2^-%d s", n)
	case n == 3:
		s = "ms"
	case n == 6:
		s = "us"
	case n == 9:
		s = "ns"
	}
	if r.Tsoffset != 0 {
		s += fmt.Sprintf(" +%d s", r.Tsoffset)
	}
	return s
}
