// Package pcapout writes the pcapng files verify and probe leave behind
// for a person to open in Wireshark: what was captured, what mismatched,
// what GRO made, the probe's fixtures. Each is one section of Ethernet
// interfaces and frames with comments; not a hot path.
package pcapout

import (
	"iter"
	"time"

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
	f, err := Create(path, o, ifaces)
	if err != nil {
		return err
	}
	for fr := range frames {
		if err := f.Write(fr); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
