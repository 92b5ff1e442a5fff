package capture

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/afpacket"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
	"os"
	"slices"
)

// Options size the ring. The defaults (16 blocks of 4 MiB) keep up with
// millions of frames a second without loss (docs/lab.md).
type Options struct {
	BlockSize int
	Blocks    int
	// Outgoing keeps only frames the interface sends (its transmit tap,
	// which sees segments after software GSO and is immune to the
	// receiver's backlog); otherwise only frames it receives.
	Outgoing bool
	// Stall keeps the reader away from the ring this long after it opens,
	// so that a small ring overflows: how tests check that loss is reported.
	Stall time.Duration
	// Vnet asks the kernel for each frame's virtio_net_hdr
	// (PACKET_VNET_HDR): what GRO made of it (gso_type, gso_size, the
	// checksum state); Vnets returns them.
	Vnet bool
}

// Limits of Options.
const (
	MaxBlocks    = 1024
	MaxBlockSize = 1 << 30
)

// Validate reports the first option out of range (a *coalesce.OptionError
// naming the field). Zero values take the defaults: 16 blocks of 4 MiB.
func (o Options) Validate() error {
	switch {
	case o.Blocks < 0 || o.Blocks > MaxBlocks:
		return &coalesce.OptionError{Option: "Blocks", Value: fmt.Sprint(o.Blocks), Want: fmt.Sprintf("want 1..%d", MaxBlocks)}
	case o.BlockSize < 0 || o.BlockSize%os.Getpagesize() != 0 || o.BlockSize > MaxBlockSize:
		// TPACKET_V3 blocks are whole pages.
		return &coalesce.OptionError{Option: "BlockSize", Value: fmt.Sprint(o.BlockSize), Want: "want a multiple of the page size up to 1 GiB"}
	case o.Stall < 0:
		return &coalesce.OptionError{Option: "Stall", Value: o.Stall.String(), Want: "must not be negative"}
	}
	return nil
}

// Capture reads every frame an interface sends or receives from a
// TPACKET_V3 ring, restoring VLAN tags the receive path moved into
// metadata.
type Capture struct {
	fd     int
	ring   []byte
	bsize  int
	blocks int
	next   int
	opts   Options

	mu     sync.Mutex
	frames [][]byte
	times  []time.Time // when the kernel saw each frame (its ring timestamp)
	vnets  []gso.VnetHeader
	last   time.Time // when the latest frame arrived
	count  int       // frames captured, kept or handed on
	// each, if set (Stream), is handed the frames instead; scratch is
	// where a frame gets its tag back.
	each    func([]byte, time.Time, gso.VnetHeader)
	scratch []byte
	drops   uint64
	seen    uint64
	stop    chan struct{}
	done    chan struct{}
	err     error
}

// New opens the ring on iface in the calling thread's namespace and starts
// reading it.
func New(iface string, o Options) (*Capture, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	if o.BlockSize == 0 {
		o.BlockSize = 4 << 20
	}
	if o.Blocks == 0 {
		o.Blocks = 16
	}
	c := &Capture{bsize: o.BlockSize, blocks: o.Blocks, opts: o, stop: make(chan struct{}), done: make(chan struct{})}
	var err error
	c.fd, _, err = afpacket.Open(iface, afpacket.Options{Protocol: unix.ETH_P_ALL, Vnet: o.Vnet, Setup: func(fd int) error {
		// The version and the ring before bind; PACKET_VNET_HDR (set
		// before the ring) makes the kernel write each frame's header just
		// before its MAC header.
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
			return fmt.Errorf("PACKET_VERSION on %s: %w", iface, err)
		}
		// A block is handed over when full or after the timeout: with 16
		// blocks and 20 ms, a reader kept off its CPU for a third of a
		// second under a burst loses nothing.
		req := unix.TpacketReq3{Block_size: uint32(o.BlockSize), Block_nr: uint32(o.Blocks), Frame_size: 2048,
			Frame_nr: uint32(o.BlockSize / 2048 * o.Blocks), Retire_blk_tov: 20}
		if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			return fmt.Errorf("PACKET_RX_RING on %s: %w", iface, err)
		}
		ring, err := unix.Mmap(fd, 0, o.BlockSize*o.Blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED)
		if err != nil {
			if ring, err = unix.Mmap(fd, 0, o.BlockSize*o.Blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
				return fmt.Errorf("mmap on %s: %w", iface, err)
			}
		}
		c.ring = ring
		return nil
	}})
	if err != nil {
		if c.ring != nil {
			unix.Munmap(c.ring)
		}
		return nil, fmt.Errorf("capture: %w", err)
	}
	c.Stats() // reset the kernel's counters: only what follows counts
	go c.loop()
	return c, nil
}

func (c *Capture) loop() {
	defer close(c.done)
	if c.opts.Stall > 0 {
		select {
		case <-time.After(c.opts.Stall):
		case <-c.stop:
		}
	}
	pfd := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN | unix.POLLERR}}
	for {
		select {
		case <-c.stop:
			c.drainBlocks() // whatever the kernel retired meanwhile
			return
		default:
		}
		if !c.drainBlocks() {
			if _, err := unix.Poll(pfd, 5); err != nil && err != unix.EINTR {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
				return
			}
		}
	}
}

// drainBlocks copies the frames of every block the kernel handed over and
// gives the blocks back. It reports whether there was any.
func (c *Capture) drainBlocks() bool {
	any := false
	for {
		block := c.ring[c.next*c.bsize : (c.next+1)*c.bsize]
		bh := (*unix.TpacketHdrV1)(unsafe.Pointer(&block[blockHdrOffset]))
		status := (*uint32)(unsafe.Pointer(&block[blockHdrOffset])) // block_status, the header's first field
		if atomic.LoadUint32(status)&unix.TP_STATUS_USER == 0 {
			return any
		}
		any = true
		off := int(bh.Offset_to_first_pkt)
		var got [][]byte
		var at []time.Time
		var vn []gso.VnetHeader
		c.mu.Lock()
		each := c.each
		c.mu.Unlock()
		n := 0
		for i := uint32(0); i < bh.Num_pkts; i++ {
			h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&block[off]))
			// sockaddr_ll follows the aligned header; its pkttype says the
			// direction.
			sll := block[off+tpacketAlign(unix.SizeofTpacket3Hdr):]
			pkttype := sll[sllPkttypeOffset]
			frame := block[off+int(h.Mac) : off+int(h.Mac)+int(h.Snaplen)]
			if (pkttype == unix.PACKET_OUTGOING) == c.opts.Outgoing {
				n++
				// The kernel wrote the virtio header just before the
				// frame; a frame without room for one has none (zero).
				var v gso.VnetHeader
				if m := off + int(h.Mac); c.opts.Vnet && m >= gso.VnetHeaderLen {
					if d, err := gso.DecodeVnetHeader(block[m-gso.VnetHeaderLen : m]); err == nil {
						v = d
					}
				}
				ts := time.Unix(int64(h.Sec), int64(h.Nsec))
				if each != nil {
					// Handed on where it lies: no copy unless a tag goes back in.
					if h.Status&unix.TP_STATUS_VLAN_VALID != 0 {
						c.scratch = appendVLAN(c.scratch[:0], frame, h)
						frame = c.scratch
					}
					each(frame, ts, v)
				} else {
					got = append(got, appendVLAN(nil, frame, h))
					at = append(at, ts)
					if c.opts.Vnet {
						vn = append(vn, v)
					}
				}
			}
			if h.Next_offset == 0 {
				break
			}
			off += int(h.Next_offset)
		}
		atomic.StoreUint32(status, unix.TP_STATUS_KERNEL)
		c.next = (c.next + 1) % c.blocks
		if n > 0 {
			c.mu.Lock()
			c.frames = append(c.frames, got...)
			c.times = append(c.times, at...)
			c.vnets = append(c.vnets, vn...)
			c.count += n
			c.last = time.Now()
			c.mu.Unlock()
		}
	}
}

// Offsets in the kernel's ring structures (include/uapi/linux/if_packet.h).
const (
	// struct tpacket_block_desc: version and offset_to_priv (u32 each),
	// then the tpacket_hdr_v1.
	blockHdrOffset = 8
	// struct sockaddr_ll: family (u16), protocol (u16), ifindex (i32),
	// hatype (u16), then pkttype (u8).
	sllPkttypeOffset = 10
)

func tpacketAlign(n int) int { return (n + 15) &^ 15 }

// appendVLAN appends a frame to dst, putting back the tag the receive path
// stripped.
func appendVLAN(dst, frame []byte, h *unix.Tpacket3Hdr) []byte {
	const macs = header.EthernetSize - 2 // the tag goes after the addresses
	if h.Status&unix.TP_STATUS_VLAN_VALID == 0 || len(frame) < macs {
		return append(dst, frame...)
	}
	tpid := h.Hv1.Vlan_tpid
	if h.Status&unix.TP_STATUS_VLAN_TPID_VALID == 0 || tpid == 0 {
		tpid = uint16(header.EtherType8021Q)
	}
	out := slices.Grow(dst, len(frame)+header.VLANTagSize)
	out = append(out, frame[:macs]...)
	out = binary.BigEndian.AppendUint16(out, tpid)
	out = binary.BigEndian.AppendUint16(out, uint16(h.Hv1.Vlan_tci))
	return append(out, frame[macs:]...)
}

// Stream hands every frame captured from now on to each instead of keeping
// it, on the capture's goroutine, with its kernel timestamp and (with
// Options.Vnet) virtio header; the frame is valid during the call only.
// Frames captured before are handed on first. Frames, Times and Vnets then
// return only what was kept before. each must keep up: while it runs the
// ring fills.
func (c *Capture) Stream(each func(frame []byte, at time.Time, h gso.VnetHeader)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, f := range c.frames {
		var v gso.VnetHeader
		if c.opts.Vnet {
			v = c.vnets[i]
		}
		each(f, c.times[i], v)
	}
	c.frames, c.times, c.vnets = nil, nil, nil
	c.each = each
}

// Count is the number of frames captured so far, and when the last came.
func (c *Capture) Count() (int, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count, c.last
}

// Stats reads (and resets) the socket's PACKET_STATISTICS, accumulating.
func (c *Capture) Stats() (seen, drops uint64) {
	st, err := unix.GetsockoptTpacketStatsV3(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.seen += uint64(st.Packets)
		c.drops += uint64(st.Drops)
	}
	return c.seen, c.drops
}

// Stop ends the capture and returns the frames, in the order the interface
// handled them.
func (c *Capture) Stop() ([][]byte, error) {
	close(c.stop)
	<-c.done
	c.Stats()
	unix.Munmap(c.ring)
	unix.Close(c.fd)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames, c.err
}

// Vnets are the virtio_net_hdr of the frames Stop returned, one each, with
// Options.Vnet.
func (c *Capture) Vnets() []gso.VnetHeader {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vnets
}

// Times are the kernel's timestamps of the frames Stop returned, one each:
// what orders frames captured on two interfaces of one host.
func (c *Capture) Times() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.times
}

// Frames returns a copy of the frames captured from index from on.
func (c *Capture) Frames(from int) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if from >= len(c.frames) {
		return nil
	}
	return append([][]byte(nil), c.frames[from:]...)
}
