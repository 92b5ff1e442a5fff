package pcaps

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// The vnet record format: what a tap opened with IFF_VNET_HDR, or a virtio
// test harness, takes one write() at a time — a virtio_net_hdr followed by
// the frame — stored as length-prefixed records after a small file header.
// All integers are little endian, like the virtio header itself.
//
//	file header, 16 bytes:
//	  0  8  magic "GSOVNET1"
//	  8  2  size of the virtio header in every record (10; 12 with num_buffers;
//	        24 for virtio_net_hdr_v1_hash_tunnel, which UDP tunnel records need)
//	 10  2  link type of every frame (1 Ethernet for a tap, 101 raw IP for a tun)
//	 12  4  reserved, 0
//	record:
//	  0  4  n: bytes that follow (virtio header + frame)
//	  4  n  virtio header, then the frame
//
// The format keeps no timestamps, interfaces or comments: a Reader gives
// every packet the epoch as its timestamp.
const (
	VnetMagic         = "GSOVNET1"
	vnetFileHeaderLen = 16
	// vnetHeaderSize is the virtio_net_hdr a Writer puts in every record
	// unless told 24: the legacy header, gso.VnetHeaderLen bytes (pcaps
	// reads headers of 12 too, and decodes none).
	vnetHeaderSize   = 10
	vnetTunnelHeader = 24
)

func (r *Reader) readVnetHeader(br *bufio.Reader) error {
	var h [vnetFileHeaderLen]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return fmt.Errorf("%s: vnet file header: %w", r.name, ErrTruncated)
	}
	r.vnetHdr = int(binary.LittleEndian.Uint16(h[8:]))
	lt := layers.LinkType(binary.LittleEndian.Uint16(h[10:]))
	if r.vnetHdr != 10 && r.vnetHdr != 12 && r.vnetHdr != vnetTunnelHeader {
		return fmt.Errorf("%s: vnet file header: virtio header of %d bytes (want 10, 12 or 24): %w", r.name, r.vnetHdr, ErrNotCapture)
	}
	r.vnet, r.br = true, br
	r.ifaces = []Interface{{LinkType: lt, Name: "vnet"}}
	r.offset = vnetFileHeaderLen
	return nil
}

// nextVnet reads one record of a vnet file into p, parsed in the ring
// (window.go) as pcap records are.
func (r *Reader) nextVnet(p *Packet) error {
	r.ownWindow()
	w := r.win
	if err := r.begin(4, "record length: "); err != nil {
		return err
	}
	size := int(binary.LittleEndian.Uint32(w.buf[w.start:]))
	switch {
	case size < r.vnetHdr:
		return r.errorf(ErrCorrupt, "record of %d bytes is shorter than its %d-byte virtio header", size, r.vnetHdr)
	case size-r.vnetHdr > MaxFrame:
		return r.errorf(ErrTooLarge, "%d bytes > %d", size-r.vnetHdr, MaxFrame)
	}
	if ok, err := r.fill(4 + size); err != nil {
		return r.readError(err)
	} else if !ok {
		return r.errorf(ErrTruncated, "record of %d bytes: %v", size, io.ErrUnexpectedEOF)
	}
	at := w.start + 4
	b := w.buf[at : at+size : at+size]
	*p = Packet{
		Vnet: b[:r.vnetHdr:r.vnetHdr], Data: b[r.vnetHdr:], Length: size - r.vnetHdr,
		Timestamp: time.Unix(0, 0).UTC(), LinkType: r.ifaces[0].LinkType, Offset: r.offset,
	}
	w.start = at + size
	r.count++
	r.offset += 4 + int64(size)
	return nil
}

func (w *Writer) writeVnetFileHeader(lt layers.LinkType) error {
	var h [vnetFileHeaderLen]byte
	copy(h[:], VnetMagic)
	binary.LittleEndian.PutUint16(h[8:], uint16(w.VnetHeaderLen()))
	binary.LittleEndian.PutUint16(h[10:], uint16(lt))
	_, err := w.w.Write(h[:])
	return err
}

// writeVnet writes one record: p.Vnet (zero for a plain frame) and p.Data.
func (w *Writer) writeVnet(p *Packet) error {
	if p.LinkType != w.lt {
		return fmt.Errorf("a vnet file holds one link type (%s), packet has %s", w.lt, p.LinkType)
	}
	size := w.VnetHeaderLen()
	if len(p.Vnet) != 0 && len(p.Vnet) != size {
		return fmt.Errorf("virtio header of %d bytes, want %d", len(p.Vnet), size)
	}
	var rec [4 + vnetTunnelHeader]byte
	binary.LittleEndian.PutUint32(rec[:], uint32(size+len(p.Data)))
	copy(rec[4:], p.Vnet)
	if _, err := w.w.Write(rec[:4+size]); err != nil {
		return err
	}
	_, err := w.w.Write(p.Data)
	return err
}

// VnetHeaderLen is the virtio header of every record a vnet Writer
// writes: WriterOptions.VnetHeaderLen, 10 unless it says 24.
func (w *Writer) VnetHeaderLen() int {
	if w.opts.VnetHeaderLen == vnetTunnelHeader {
		return vnetTunnelHeader
	}
	return vnetHeaderSize
}

// VnetLinkType is the link type a vnet file of r's frames would have: r's
// interfaces must share one, Ethernet (for a tap) or raw IP (for a tun).
func VnetLinkType(r *Reader) (layers.LinkType, error) {
	ifs := r.Interfaces()
	if len(ifs) == 0 {
		return 0, fmt.Errorf("%s: no interface declared: nothing to write as vnet records", r.Name())
	}
	lt := ifs[0].LinkType
	for _, in := range ifs {
		if in.LinkType != lt {
			return 0, fmt.Errorf("%s: link types %s and %s: a vnet file holds one", r.Name(), lt, in.LinkType)
		}
	}
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return lt, nil
	}
	return 0, fmt.Errorf("%s: link type %s: vnet records carry Ethernet (tap) or raw IP (tun) frames", r.Name(), lt)
}
