package pcapout

import (
	"os"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// File is a pcapng file being written frame by frame, for output that
// comes as a stream.
type File struct {
	f *os.File
	w *pcaps.Writer
	p pcaps.Packet
}

// Create creates path as pcapng: a section with o's comment and
// application and an Ethernet interface for each name.
func Create(path string, o pcaps.WriterOptions, ifaces []string) (*File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	o.Format = pcaps.FormatPcapNG
	w := pcaps.NewWriter(f, o)
	decl := make([]pcaps.Interface, len(ifaces))
	for i, name := range ifaces {
		decl[i] = pcaps.Interface{LinkType: layers.LinkTypeEthernet, Name: name}
	}
	w.DeclareInterfaces(decl)
	return &File{f: f, w: w}, nil
}

// Write adds a frame.
func (f *File) Write(fr Frame) error {
	f.p = pcaps.Packet{Data: fr.Data, Length: len(fr.Data), Timestamp: fr.Time, Interface: fr.Interface, LinkType: layers.LinkTypeEthernet}
	return f.w.Write(&f.p, fr.Comment)
}

// Close flushes and closes the file.
func (f *File) Close() error {
	err := f.w.Flush()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	return err
}
