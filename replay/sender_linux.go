package replay

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/afpacket"
	"github.com/gsoreplay/gsoreplay/replay/tap"
)

// sendStats counts what a Sender did. Errors are keyed by errno name.
type sendStats struct {
	Items    int64 // items the kernel accepted
	Frames   int64 // frames those items stand for
	Bytes    int64 // bytes of those frames on the wire
	Syscalls int64
	Failed   int64 // items the kernel refused
	// FailedFrames is the frames the refused items stood for.
	FailedFrames int64
	Retried      int64 // sends retried after ENOBUFS
	Errors       map[string]int64
	// SideFrames and SideBytes split Frames and Bytes by interface, with
	// a second one (AddInterface): [0] the first, [1] the second.
	SideFrames, SideBytes [2]int64
}

// sender writes items to an AF_PACKET socket with PACKET_VNET_HDR, in
// sendmmsg batches. Never with PACKET_QDISC_BYPASS: the kernel drops
// segmented packets on that path (docs/kernel.md §1.7).
type sender struct {
	fd    int
	iface string
	// With a second interface every message names its interface, so that
	// one socket and one sendmmsg keep the order across both.
	two   bool
	names [2]unix.RawSockaddrLinklayer
	// tap, if set, is where items go instead of the socket (Via tap): one
	// writev each, with its header of tap.HeaderLen bytes.
	tap  *tap.Tap
	hdrs [][gso.VnetTunnelHeaderLen]byte
	bufs [][]byte // copies of frames that do not outlive Queue's caller
	meta []item   // segs and wire bytes of the queued items
	// iov holds every queued message's pieces (virtio header, frame,
	// parts); iovAt[i] is where message i's begin.
	iov   []unix.Iovec
	iovAt []int
	msgs  []unix.Mmsghdr
	n     int
	// queued is the frames the queued items stand for.
	queued int64
	Stats  sendStats
	// Retries is how many times a send the device's queue refuses
	// (ENOBUFS) is tried again, 50 µs apart, before it counts as failed
	// (8 when 0): a receiver that polls late (GRO with a flush timeout)
	// needs more.
	Retries int
	// lag, if set, is shown when each paced item left, on the clock that
	// starts at origin (the send-time error).
	lag    *lagRecorder
	origin time.Time
}

func (s *sender) maxRetries() int {
	if s.Retries > 0 {
		return s.Retries
	}
	return 8
}

// newSender opens a packet socket on iface in the calling thread's network
// namespace. batch is the most messages per sendmmsg.
func newSender(iface string, batch int) (*sender, error) {
	// A large send buffer lets a batch of 64 KiB super-packets queue at once.
	fd, index, err := afpacket.Open(iface, afpacket.Options{Vnet: true, SendBuffer: 16 << 20})
	if err != nil {
		return nil, err
	}
	s := &sender{fd: fd, iface: iface, Stats: sendStats{Errors: map[string]int64{}}}
	s.names[0] = unix.RawSockaddrLinklayer{Family: unix.AF_PACKET, Ifindex: int32(index)}
	s.size(batch)
	return s, nil
}

// newTapSender opens a tap (tunnel: with the 24-byte header and UDP
// tunnel GSO) in the calling thread's network namespace and redirects it
// to iface (package tap).
func newTapSender(name, iface string, tunnel bool, batch int) (*sender, error) {
	t, err := tap.Open(name, tunnel)
	if err != nil {
		return nil, err
	}
	if err := t.Redirect(iface); err != nil {
		t.Close()
		return nil, err
	}
	s := &sender{fd: -1, tap: t, iface: iface + " via tap " + t.Name, Stats: sendStats{Errors: map[string]int64{}}}
	s.size(batch)
	return s, nil
}

func (s *sender) size(batch int) {
	if batch < 1 {
		batch = 1
	}
	s.hdrs = make([][gso.VnetTunnelHeaderLen]byte, batch)
	s.bufs = make([][]byte, batch)
	s.meta = make([]item, batch)
	s.iov = make([]unix.Iovec, 0, 2*batch)
	s.iovAt = make([]int, batch+1)
	s.msgs = make([]unix.Mmsghdr, batch)
}

// AddInterface makes the Sender send the items whose Side is
// split.Secondary on iface2 (in the Sender's namespace), the others on its
// first interface, through the same socket: each message of a batch names
// its interface, and the batch goes out in order.
func (s *sender) AddInterface(iface2 string) error {
	index, err := afpacket.InterfaceIndex(iface2)
	if err != nil {
		return err
	}
	s.names[1] = unix.RawSockaddrLinklayer{Family: unix.AF_PACKET, Ifindex: int32(index)}
	s.two = true
	s.iface += "+" + iface2
	return nil
}

// Queue adds an item to the batch, sending the batch when it is full. The
// kernel reads the frame in place when stable (or Item.Stable) says it
// stays valid and unchanged until the batch is sent (preloaded captures,
// borrowed packets) or the item can be kept until then (Item.Release,
// called after the send); otherwise it is copied into a buffer of the
// sender's, reused and hot. Item.Parts are always read in place: the
// virtio header, the frame and the parts go as one message's iovecs.
func (s *sender) Queue(it *item, stable bool) error {
	h := it.Vnet
	hdr := s.hdrs[s.n][:gso.VnetHeaderLen]
	switch {
	case s.tap != nil && s.tap.HeaderLen == gso.VnetTunnelHeaderLen:
		hdr = s.hdrs[s.n][:]
		h.EncodeTunnel(hdr)
	case h.GSOType.Tunnel() != 0:
		return fmt.Errorf("%s: a UDP tunnel super-packet needs a tap with the tunnel header (--via tap): a packet socket takes none", s.iface)
	default:
		if n := it.Len(); n > 0xffff && s.tap == nil {
			// BIG TCP: a linear part the kernel can allocate the rest beside.
			h.HdrLen = uint16(afpacket.Linear(n, int(h.HdrLen)))
		}
		h.Encode(hdr)
	}
	frame := it.Frame
	var release func([]byte)
	switch {
	case stable || it.Stable:
	case it.Release != nil:
		release = it.Release
	default:
		s.bufs[s.n] = append(s.bufs[s.n][:0], frame...)
		frame = s.bufs[s.n]
	}
	s.meta[s.n] = item{Frame: frame, Segs: it.Segs, Wire: it.Wire, Release: release, Side: it.Side, paced: it.paced, due: it.due}
	s.iov = append(s.iov, iovec(hdr), iovec(frame))
	for _, p := range it.Parts {
		s.iov = append(s.iov, iovec(p))
	}
	s.n++
	s.iovAt[s.n] = len(s.iov)
	s.queued += int64(it.Segs)
	if s.n == len(s.hdrs) {
		return s.Flush()
	}
	return nil
}

// Pending is the frames sent or queued so far.
func (s *sender) Pending() int64 { return s.Stats.Frames + s.queued }

// Flush sends the queued items. A refused item is counted under its errno
// and the rest of the batch still goes.
func (s *sender) Flush() error {
	if s.tap != nil {
		return s.flushTap()
	}
	for i := 0; i < s.n; i++ {
		// The pieces, gathered by the kernel: no copy here. iov no longer
		// grows, so pointers into it hold.
		s.msgs[i] = unix.Mmsghdr{}
		s.msgs[i].Hdr.Iov = &s.iov[s.iovAt[i]]
		s.msgs[i].Hdr.SetIovlen(s.iovAt[i+1] - s.iovAt[i])
		if s.two {
			s.msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&s.names[s.meta[i].Side&1]))
			s.msgs[i].Hdr.Namelen = unix.SizeofSockaddrLinklayer
		}
	}
	retries := 0
	for off := 0; off < s.n; {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[off])), uintptr(s.n-off), 0, 0, 0)
		s.Stats.Syscalls++
		if e != 0 {
			switch e {
			case unix.EINTR, unix.EAGAIN:
				continue
			case unix.ENOBUFS:
				// A full queue empties; a frame the device refuses does
				// not: retry a few times, then count it.
				if retries < s.maxRetries() {
					retries++
					s.Stats.Retried++
					time.Sleep(50 * time.Microsecond)
					continue
				}
			case unix.EBADF, unix.ENXIO, unix.ENETDOWN, unix.ENODEV:
				s.done()
				return fmt.Errorf("sendmmsg on %s: %w", s.iface, e)
			}
			s.Stats.Failed++
			s.Stats.FailedFrames += int64(s.meta[off].Segs)
			s.Stats.Errors[unix.ErrnoName(e)]++
			off++
			retries = 0
			continue
		}
		retries = 0
		s.left(off, off+int(r))
		for i := off; i < off+int(r); i++ {
			m := &s.meta[i]
			s.Stats.Items++
			s.Stats.Frames += int64(m.Segs)
			s.Stats.Bytes += int64(m.Wire)
			s.Stats.SideFrames[m.Side&1] += int64(m.Segs)
			s.Stats.SideBytes[m.Side&1] += int64(m.Wire)
		}
		off += int(r)
	}
	s.done()
	return nil
}

// flushTap writes the queued items to the tap, one writev each. A write
// the kernel refuses is counted under its errno, as on the socket.
func (s *sender) flushTap() error {
	for i := 0; i < s.n; i++ {
		e := s.tap.Writev(s.iov[s.iovAt[i]:s.iovAt[i+1]])
		s.Stats.Syscalls++
		switch e {
		case 0:
			s.left(i, i+1)
			m := &s.meta[i]
			s.Stats.Items++
			s.Stats.Frames += int64(m.Segs)
			s.Stats.Bytes += int64(m.Wire)
			s.Stats.SideFrames[0] += int64(m.Segs)
			s.Stats.SideBytes[0] += int64(m.Wire)
		case unix.EINTR, unix.EAGAIN:
			i-- // again
		case unix.EBADF, unix.EIO, unix.ENODEV:
			s.done()
			return fmt.Errorf("write to tap %s: %w", s.tap.Name, e)
		default:
			s.Stats.Failed++
			s.Stats.FailedFrames += int64(s.meta[i].Segs)
			s.Stats.Errors[unix.ErrnoName(e)]++
		}
	}
	s.done()
	return nil
}

// left shows the lag recorder that the queued items from..to-1 left now.
func (s *sender) left(from, to int) {
	if s.lag == nil {
		return
	}
	now := time.Since(s.origin)
	for i := from; i < to; i++ {
		if m := &s.meta[i]; m.paced {
			s.lag.add(m.due, now-m.due)
		}
	}
}

// done empties the batch: kept frames go back to their owners, and no
// reference to a preloaded capture stays behind.
func (s *sender) done() {
	for i := range s.n {
		if m := &s.meta[i]; m.Release != nil {
			m.Release(m.Frame)
		}
		s.meta[i] = item{}
	}
	clear(s.iov) // no pointer to a frame stays behind
	s.iov = s.iov[:0]
	s.n, s.queued = 0, 0
}

// iovec points at b (an empty one for an empty b).
func iovec(b []byte) unix.Iovec {
	var v unix.Iovec
	if len(b) > 0 {
		v.Base = &b[0]
		v.SetLen(len(b))
	}
	return v
}

// Close sends what is queued and closes the socket.
func (s *sender) Close() error {
	err := s.Flush()
	var cerr error
	if s.tap != nil {
		cerr = s.tap.Close()
	} else {
		cerr = unix.Close(s.fd)
	}
	if err == nil {
		err = cerr
	}
	return err
}

// ErrnoMeaning explains, after docs/kernel.md §1.8, why the kernel refuses
// an AF_PACKET send with the named errno.
func ErrnoMeaning(name string) string {
	switch name {
	case "EINVAL":
		return "the kernel rejected the virtio header or the frame (bad gso_type, hdr_len, csum_start/offset, or a frame under 14 bytes)"
	case "EMSGSIZE":
		return "frame above the interface MTU and not GSO (it cannot be segmented)"
	case "ENOMEM":
		return "segmentation rejected the super-packet on a noqueue device (veth, lo, tunnels)"
	case "ENOBUFS":
		return "the driver or the queue dropped the frame (full, or too long for the device)"
	case "EFAULT":
		return "the frame could not be copied into the kernel"
	}
	return ""
}
