package pcaps

import (
	"encoding/binary"
	"io"
	"time"
)

// WindowChunk is the most a Window reads from the file at a time.
const WindowChunk = 1 << 20

// minChunk is the least it reads.
const minChunk = 4 << 10

// MinWindow is the smallest buffer Window takes: room for the longest
// record, which may straddle two reads, and two reads.
const MinWindow = MaxFrame + rawRecordHeader + 2*minChunk

// rawRecordHeader is the size of a pcap record header: seconds, fraction,
// captured length, original length.
const rawRecordHeader = 16

// rawPcap is what reading pcap records needs from the file header's magic.
type rawPcap struct {
	order binary.ByteOrder
	nanos bool
}

func rawPcapOf(magic []byte) rawPcap {
	le := binary.LittleEndian.Uint32(magic)
	switch le {
	case 0xa1b2c3d4:
		return rawPcap{order: binary.LittleEndian}
	case 0xa1b23c4d:
		return rawPcap{order: binary.LittleEndian, nanos: true}
	case 0xd4c3b2a1:
		return rawPcap{order: binary.BigEndian}
	}
	return rawPcap{order: binary.BigEndian, nanos: true} // 0x4d3cb2a1
}

// window reads the records of a pcap file into a ring the caller lends (see
// Reader.Window). The records are parsed in place; buf[start:end] is what
// has been read and not yet handed out. Bytes before end belong to the
// current lap (file offset base+i), bytes from end on to the previous one
// (prevBase+i), which the next reads overwrite.
type window struct {
	buf            []byte
	start, end     int
	base, prevBase int64
	chunk          int  // bytes a read asks for
	lapped         bool // a previous lap exists
	eof            bool
	reclaim        func(before int64) error
}

// Window makes the Reader read a pcap, vnet or pcapng file into buf, a ring
// of at least MinWindow bytes for pcap and vnet and MinWindowNG for pcapng (in reads
// of half of what the longest record leaves, up to WindowChunk), and hand
// out Packet.Data (and a pcapng packet's Block and Options) as slices of
// it without copying: a packet's Data then stays valid and unchanged after
// later calls to Next, until reclaim is called with a bound above its
// Offset. reclaim is called before the reader overwrites what it handed
// out earlier; when it returns, nothing below before may be used any more
// (a caller that holds packets sends or copies them). An error from reclaim
// ends the read with it. Window reports false, and the Reader reads as
// before, for a ring too small, or if a packet was read already (from the
// ring: a pcapng file's first blocks, read ahead, are copies). Without
// Window a Reader uses a small ring of its own.
func (r *Reader) Window(buf []byte, reclaim func(before int64) error) bool {
	return r.window(buf, reclaim, min(WindowChunk, (len(buf)-r.longest())/2))
}

// MinWindowNG is the smallest buffer Window takes for pcapng: room for the
// longest block a Reader takes, which may straddle two reads, and two
// reads.
const MinWindowNG = maxBlockNG + 2*minChunk

// longest is the longest record the file's ring must hold whole.
func (r *Reader) longest() int {
	switch {
	case r.ng != nil:
		return maxBlockNG
	case r.vnet:
		return 4 + r.vnetHdr + MaxFrame
	}
	return MaxFrame + rawRecordHeader
}

// window is Window with reads of chunk bytes (tests make many laps with
// small ones).
func (r *Reader) window(buf []byte, reclaim func(before int64) error, chunk int) bool {
	if r.br == nil || r.raw.order == nil && r.ng == nil && !r.vnet || r.win != nil || chunk < minChunk || len(buf) < 2*chunk+r.longest() {
		return false
	}
	r.win = &window{buf: buf, base: r.offset, reclaim: reclaim, chunk: chunk}
	return true
}

// ownWindow gives the Reader a small ring of its own when none was lent,
// read in chunks as large as the buffer below it, which bufio then hands
// to the file whole instead of copying them once more.
func (r *Reader) ownWindow() {
	if r.win == nil {
		r.window(make([]byte, 2*readBuffer+r.longest()), func(int64) error { return nil }, readBuffer)
	}
}

// fill makes buf[start:end] hold at least need bytes, unless the file ends
// first; it reports whether it does.
func (r *Reader) fill(need int) (bool, error) {
	w := r.win
	for w.end-w.start < need {
		if w.eof {
			return false, nil
		}
		if len(w.buf)-w.end < w.chunk {
			// Start a new lap: move what is unread to the front.
			if w.lapped || w.start > 0 {
				if err := w.reclaim(w.base + int64(w.end-w.start)); err != nil {
					return false, reclaimError{err}
				}
			}
			n := copy(w.buf, w.buf[w.start:w.end])
			w.prevBase, w.base = w.base, w.base+int64(w.start)
			w.start, w.end, w.lapped = 0, n, true
		}
		if w.lapped {
			if err := w.reclaim(w.prevBase + int64(w.end+w.chunk)); err != nil {
				return false, reclaimError{err}
			}
		}
		n, err := io.ReadFull(r.br, w.buf[w.end:w.end+w.chunk])
		w.end += n
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			w.eof = true
		case err != nil:
			return false, err
		}
	}
	return true, nil
}

// begin makes the ring hold the next record's first n bytes: io.EOF at a
// clean end of the file, else an error naming the place (what, if not
// empty, says which field the file ends in).
func (r *Reader) begin(n int, what string) error {
	ok, err := r.fill(n)
	switch {
	case err != nil:
		return r.readError(err)
	case !ok && r.win.end == r.win.start:
		return io.EOF
	case !ok:
		return r.errorf(ErrTruncated, "%s%v", what, io.ErrUnexpectedEOF)
	}
	return nil
}

// nextWindow is Next for pcap: the record parsed in the ring, with the
// checks pcapgo makes, and a file that ends after a record's header is
// truncated (pcapgo takes it for the end).
func (r *Reader) nextWindow(p *Packet) error {
	w := r.win
	if err := r.begin(rawRecordHeader, ""); err != nil {
		return err
	}
	h := w.buf[w.start : w.start+rawRecordHeader]
	o := r.raw.order
	sec, frac := o.Uint32(h[0:4]), o.Uint32(h[4:8])
	caplen, length := o.Uint32(h[8:12]), o.Uint32(h[12:16])
	if caplen > MaxFrame {
		return r.errorf(ErrCorrupt, "capture length exceeds snap length: %d > %d", caplen, MaxFrame)
	}

	if ok, err := r.fill(rawRecordHeader + int(caplen)); err != nil {
		return r.readError(err)
	} else if !ok {
		return r.errorf(ErrTruncated, "%v", io.ErrUnexpectedEOF)
	}
	if !r.raw.nanos {
		frac *= 1000 // in 32 bits, as pcapgo does, so that both modes agree
	}
	at := w.start + rawRecordHeader
	*p = Packet{
		Data:      w.buf[at : at+int(caplen) : at+int(caplen)],
		Timestamp: time.Unix(int64(sec), int64(frac)).UTC(),
		Length:    int(length),
		LinkType:  r.ifaces[0].LinkType,
		Offset:    r.offset,
	}
	if caplen > length {
		// tcpdump and Wireshark read such a record (with a warning): so do
		// we, counted, and the writers give it back as it was.
		r.odd.CapturedOverOriginal++
	}
	w.start = at + int(caplen)
	r.count++
	r.offset += rawRecordHeader + int64(caplen)
	return nil
}

func (r *Reader) readError(err error) error {
	if re, ok := err.(reclaimError); ok {
		return re.error // the caller's own error, as it gave it
	}
	return r.errorf(ErrCorrupt, "%v", err)
}

// reclaimError carries an error of the reclaim callback through fill.
type reclaimError struct{ error }
