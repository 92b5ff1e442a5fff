// Package pcapout writes the pcapng files verify and probe leave behind
// for a person to open in Wireshark: what was captured, what mismatched,
// what GRO made, the probe's fixtures. Each is one section of Ethernet
// interfaces and frames with comments; not a hot path.
package pcapout

import (
	"iter"
	"os"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Frame is one packet of the file.
type Frame struct {
	Data      []byte
	Time      time.Time
	Interface int // index into the file's interfaces
	Comment   []byte
}

// Write creates path as pcapng: a section with o's comment and
// application, an Ethernet interface for each name, then the frames.
func Write(path string, o pcaps.WriterOptions, ifaces []string, frames iter.Seq[Frame]) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	o.Format = pcaps.FormatPcapNG
	w := pcaps.NewWriter(f, o)
	decl := make([]pcaps.Interface, len(ifaces))
	for i, name := range ifaces {
		decl[i] = pcaps.Interface{LinkType: layers.LinkTypeEthernet, Name: name}
	}
	w.DeclareInterfaces(decl)
	for fr := range frames {
		p := pcaps.Packet{Data: fr.Data, Length: len(fr.Data), Timestamp: fr.Time, Interface: fr.Interface, LinkType: layers.LinkTypeEthernet}
		if err := w.Write(&p, fr.Comment); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
