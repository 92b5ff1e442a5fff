package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/afpacket"
	"github.com/gsoreplay/gsoreplay/internal/superpacket"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/replay/hugemem"
	"github.com/gsoreplay/gsoreplay/replay/probe"
)

// superPacket is the probe's first case: 45 full-size TCPv4 segments
// coalesced into one 64 KiB super-packet.
func superPacket() (frame []byte, h gso.VnetHeader, segs int, err error) {
	cases, err := probe.Cases()
	if err != nil {
		return nil, h, 0, err
	}
	c := cases[0]
	var s gso.Segmenter
	segs, err = s.Count(c.Frame, layers.LinkTypeEthernet, c.Vnet)
	return c.Frame, c.Vnet, segs, err
}

// bare sends n frames' worth of ready-made 64 KiB TCPv4 GSO super-packets
// from one small, hot buffer, on threads sockets at once (thread i pinned
// to CPU i): the most a GSO replayer could do, the bench's ceiling. With
// small, it sends n 66-byte frames (TCP ACKs) instead: the most any
// AF_PACKET sender of frames that cannot be merged could do. With segs,
// super-packets of that many full-size segments: a capture's shape.
func bare(iface string, n int64, threads, batch, bigMiB int, small bool, nsegs int) error {
	frame, h, segs, err := superPacket()
	switch {
	case small:
		p := craft.TCPBulk()
		p.Payload = nil
		frame, h, segs = p.Packet().Data, gso.VnetHeader{}, 1
	case nsegs > 0:
		frame, h, err = superpacket.Merge(craft.Packets(craft.Flow(craft.TCPBulk(), nsegs, nil)), coalesce.DefaultOptions())
		segs = nsegs
	}
	if err != nil {
		return err
	}
	// With bigMiB, every thread sends copies of the frame laid out over its
	// share of a buffer that large, in huge pages, as a preloaded capture
	// lies: the kernel copies from memory, not from the cache.
	var arena *hugemem.Arena
	if bigMiB > 0 {
		arena = hugemem.NewArena(0)
		defer arena.Free()
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	supers := (n + int64(segs) - 1) / int64(segs)
	var ready sync.WaitGroup
	var mu sync.Mutex
	ready.Add(threads)
	var sent atomic.Int64
	failed, err := onThreads(threads, func(t int) (int64, error) {
		share := supers / int64(threads)
		if int64(t) < supers%int64(threads) {
			share++
		}
		pin(t)
		var frames [][]byte
		if arena != nil {
			mu.Lock()
			for range max(1, bigMiB<<20/threads/len(frame)) {
				b := arena.Alloc(len(frame))
				copy(b, frame)
				frames = append(frames, b)
			}
			mu.Unlock()
		} else {
			frames = [][]byte{frame}
		}
		ready.Done()
		ready.Wait()
		s, f, err := bareSend(ifi.Name, frames, h, share, batch)
		sent.Add(s)
		return f, err
	})
	if err != nil {
		return err
	}
	fmt.Printf("bare: %d super-packets of %d segments (%d frames) on %d threads, %d failed calls\n", sent.Load(), segs, sent.Load()*int64(segs), threads, failed)
	return nil
}

// records are the records gsoreplay makes of a capture (coalesced with the
// default options: its super-packets and the frames that go alone, in
// order), each with its virtio_net_hdr, preloaded into huge pages.
type records struct {
	arena  *hugemem.Arena
	frames [][]byte
	hdrs   [][gso.VnetHeaderLen]byte
	conns  []uint64 // each record's connection (Flow.Symmetric; 0: none)
	segs   int
}

func loadRecords(path string) (*records, error) {
	r, err := pcaps.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rs := &records{arena: hugemem.NewArena(0)}
	c := coalesce.New(coalesce.DefaultOptions(), func(rec *coalesce.Record) error {
		b := rs.arena.Alloc(len(rec.Packet.Data))
		copy(b, rec.Packet.Data)
		rs.frames = append(rs.frames, b)
		var h [gso.VnetHeaderLen]byte
		rec.Meta.Vnet.Encode(h[:])
		rs.hdrs = append(rs.hdrs, h)
		k, _ := coalesce.FlowOf(rec.Packet.Data, rec.Packet.LinkType, rec.Packet.Interface)
		rs.conns = append(rs.conns, k.Symmetric())
		rs.segs += max(1, rec.Meta.Segs)
		return nil
	})
	if err = r.Each(c.Push); err == nil {
		err = c.Close()
	}
	if err != nil {
		rs.arena.Free()
		return nil, err
	}
	return rs, nil
}

// bareFile sends a capture's records in sendmmsg calls of batch messages
// and nothing else: the most any AF_PACKET GSO replayer of that capture
// could do. With threads, on that many sockets and CPUs, each sending the
// records of its share of the connections in order (connections given out
// by bytes, the heaviest first, each to the thread with the least so far:
// how gsoreplay -K shares them). With ring, it sends them through a
// PACKET_TX_RING of that many 68 KiB frames instead (the kernel attaches
// the ring's pages to the skb: no copy in the send), filled by a second
// thread on the other CPU: the zero-copy way AF_PACKET offers (it refuses
// SO_ZEROCOPY).
func bareFile(iface, path string, threads, batch, ring int) error {
	rs, err := loadRecords(path)
	if err != nil {
		return err
	}
	defer rs.arena.Free()
	if ring > 0 {
		return bareRing(iface, rs, ring)
	}
	shares := rs.share(max(threads, 1))
	failed, err := onThreads(len(shares), func(t int) (int64, error) {
		pin(t)
		fd, _, err := afpacket.Open(iface, afpacket.Options{Vnet: true, SendBuffer: 16 << 20})
		if err != nil {
			return 0, err
		}
		defer unix.Close(fd)
		idx := shares[t]
		_, f, err := sendAll(fd, int64(len(idx)), batch, func(i int64) ([]byte, []byte) { return rs.hdrs[idx[i]][:], rs.frames[idx[i]] })
		return f, err
	})
	if err != nil {
		return err
	}
	fmt.Printf("bare: %d records (%d frames) of %s on %d threads, %d failed calls\n", len(rs.frames), rs.segs, path, len(shares), failed)
	return nil
}

// onThreads runs f(t) for every t < n at once, each on a goroutine of its
// own, and returns the failed calls they counted and the first error.
func onThreads(n int, f func(t int) (failed int64, err error)) (int64, error) {
	var wg sync.WaitGroup
	var failed atomic.Int64
	errs := make(chan error, n)
	for t := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fl, err := f(t)
			failed.Add(fl)
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return failed.Load(), <-errs
}

// share gives each of n threads the indexes of its records: whole
// connections, the heaviest first to the least loaded.
func (rs *records) share(n int) [][]int {
	bytes := map[uint64]int{}
	for i, c := range rs.conns {
		bytes[c] += len(rs.frames[i])
	}
	conns := make([]uint64, 0, len(bytes))
	for c := range bytes {
		conns = append(conns, c)
	}
	sort.Slice(conns, func(i, j int) bool {
		if bytes[conns[i]] != bytes[conns[j]] {
			return bytes[conns[i]] > bytes[conns[j]]
		}
		return conns[i] < conns[j]
	})
	load, of := make([]int, n), map[uint64]int{}
	for _, c := range conns {
		t := 0
		for i := range load {
			if load[i] < load[t] {
				t = i
			}
		}
		of[c], load[t] = t, load[t]+bytes[c]
	}
	shares := make([][]int, n)
	for i, c := range rs.conns {
		shares[of[c]] = append(shares[of[c]], i)
	}
	return shares
}

// bareRing: see bareFile. One frame per block of 17 pages holds the
// TPACKET_V2 header (its data starts at TPACKET2_HDRLEN minus the
// sockaddr_ll, 32 bytes), the virtio_net_hdr and a 64 KiB super-packet.
func bareRing(iface string, rs *records, nframes int) error {
	const frameSize = 17 * 4096
	const dataOff = 32
	fd, _, err := afpacket.Open(iface, afpacket.Options{Vnet: true, SendBuffer: 64 << 20, Setup: func(fd int) error {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
			return fmt.Errorf("PACKET_VERSION: %w", err)
		}
		req := unix.TpacketReq{Block_size: frameSize, Block_nr: uint32(nframes), Frame_size: frameSize, Frame_nr: uint32(nframes)}
		if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &req); err != nil {
			return fmt.Errorf("PACKET_TX_RING: %w", err)
		}
		return nil
	}})
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ring, err := unix.Mmap(fd, 0, frameSize*nframes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap of the TX ring: %w", err)
	}
	defer unix.Munmap(ring)
	status := func(i int) *uint32 { return (*uint32)(unsafe.Pointer(&ring[i*frameSize])) }
	done := make(chan struct{})
	go func() { // the filler, on the other CPU
		defer close(done)
		pin(1)
		for i, f := range rs.frames {
			s := i % nframes
			for atomic.LoadUint32(status(s)) != unix.TP_STATUS_AVAILABLE {
				runtime.Gosched()
			}
			b := ring[s*frameSize:]
			n := copy(b[dataOff:], rs.hdrs[i][:])
			n += copy(b[dataOff+n:], f)
			(*unix.Tpacket2Hdr)(unsafe.Pointer(&b[0])).Len = uint32(n)
			atomic.StoreUint32(status(s), unix.TP_STATUS_SEND_REQUEST)
		}
	}()
	pin(0)
	kick := func() error {
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		if e != 0 && e != unix.EAGAIN && e != unix.ENOBUFS {
			return e
		}
		return nil
	}
	kicks := 0
	for filling := true; ; kicks++ {
		if err := kick(); err != nil {
			return err
		}
		select {
		case <-done:
			filling = false
		default:
		}
		if filling {
			continue
		}
		busy := false
		for s := range nframes {
			switch atomic.LoadUint32(status(s)) {
			case unix.TP_STATUS_WRONG_FORMAT:
				return fmt.Errorf("the kernel refused the frame in slot %d", s)
			case unix.TP_STATUS_AVAILABLE:
			default:
				busy = true
			}
		}
		if !busy {
			break
		}
	}
	fmt.Printf("bare: %d records (%d frames) through a TX ring of %d frames, %d kicks\n", len(rs.frames), rs.segs, nframes, kicks)
	return nil
}

// pin locks the calling goroutine to its thread and the thread to CPU c.
func pin(c int) {
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(c % runtime.NumCPU())
	_ = unix.SchedSetaffinity(0, &set)
}

func bareSend(iface string, frames [][]byte, h gso.VnetHeader, supers int64, batch int) (sent, failed int64, err error) {
	// The socket gsoreplay's sender has.
	fd, _, err := afpacket.Open(iface, afpacket.Options{Vnet: true, SendBuffer: 16 << 20})
	if err != nil {
		return 0, 0, err
	}
	defer unix.Close(fd)
	var hdr [gso.VnetHeaderLen]byte
	h.Encode(hdr[:])
	return sendAll(fd, supers, batch, func(i int64) ([]byte, []byte) { return hdr[:], frames[i%int64(len(frames))] })
}

// sendAll sends n messages, item(i) each (a virtio header and a frame),
// in sendmmsg calls of batch, retrying calls the kernel refuses for lack of
// room (counted in failed).
func sendAll(fd int, n int64, batch int, item func(i int64) (hdr, frame []byte)) (sent, failed int64, err error) {
	iov := make([]unix.Iovec, 2*batch)
	msgs := make([]unix.Mmsghdr, batch)
	for sent < n {
		k := min(int64(batch), n-sent)
		for i := range k {
			hdr, f := item(sent + i)
			iov[2*i] = unix.Iovec{Base: &hdr[0]}
			iov[2*i].SetLen(len(hdr))
			iov[2*i+1] = unix.Iovec{Base: &f[0]}
			iov[2*i+1].SetLen(len(f))
			msgs[i].Hdr.Iov = &iov[2*i]
			msgs[i].Hdr.SetIovlen(2)
		}
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(k), 0, 0, 0)
		if e != 0 {
			if e == unix.ENOBUFS || e == unix.EAGAIN || e == unix.EINTR {
				failed++
				continue
			}
			return sent, failed, e
		}
		sent += int64(r)
	}
	return sent, failed, nil
}

// watch polls an interface's receive counters from before the first frame
// (a sender may take minutes to preload) to after the last (quiet for 50 ms
// once want frames came, else for quiet) and prints frames, bytes and the rates between the first
// and the last change, as one JSON line: the bench's measure, taken at the
// receiver, never from a sender's report.
//
// The watcher shares the machine with the sender, so it must cost little:
// the counter files stay open and are re-read with pread, every pollEvery
// (polling often with open/read/close took CPU the senders then lacked; see
// bench/NOTES.md). The first and the last change are each seen at most
// pollEvery late: an error of at most 2 pollEvery on a pass of a few hundred
// milliseconds (0.1 % at 0.4 s).
func watch(ifaces string, want int64, quiet time.Duration) error {
	const pollEvery = 200 * time.Microsecond
	// Several interfaces (a comma list: the peers of several senders)
	// count as one: their sums.
	var pfs, bfs []*os.File
	for _, iface := range strings.Split(ifaces, ",") {
		dir := "/sys/class/net/" + iface + "/statistics/"
		pf, err := os.Open(dir + "rx_packets")
		if err != nil {
			return fmt.Errorf("no counters for %s: %v", iface, err)
		}
		defer pf.Close()
		bf, err := os.Open(dir + "rx_bytes")
		if err != nil {
			return fmt.Errorf("no counters for %s: %v", iface, err)
		}
		defer bf.Close()
		pfs, bfs = append(pfs, pf), append(bfs, bf)
	}
	var buf [32]byte
	read := func(fs []*os.File) int64 {
		var sum int64
		for _, f := range fs {
			n, err := f.ReadAt(buf[:], 0)
			if n == 0 && err != nil {
				return -1
			}
			v, _ := strconv.ParseInt(strings.TrimSpace(string(buf[:n])), 10, 64)
			sum += v
		}
		return sum
	}
	pf, bf := pfs, bfs
	p0, b0 := read(pf), read(bf)
	if p0 < 0 || b0 < 0 {
		return fmt.Errorf("cannot read the counters of %s", ifaces)
	}
	fmt.Fprintln(os.Stderr, "watching")
	var first, last time.Time
	lastP, lastB := p0, b0
	start := time.Now()
	for {
		p := read(pf)
		now := time.Now()
		if p != lastP {
			if first.IsZero() {
				first = now
			}
			last, lastP, lastB = now, p, read(bf)
		}
		if first.IsZero() {
			if now.Sub(start) > 10*time.Minute { // the sender never started
				break
			}
		} else if idle := now.Sub(last); (want > 0 && lastP-p0 >= want && idle > 50*time.Millisecond) || idle > quiet {
			break
		}
		time.Sleep(pollEvery)
	}
	frames, bytes := lastP-p0, lastB-b0
	secs := last.Sub(first).Seconds()
	fps, gbps := 0.0, 0.0
	if secs > 0 {
		fps, gbps = float64(frames)/secs, float64(bytes)*8/secs/1e9
	}
	fmt.Printf("{\"frames\":%d,\"bytes\":%d,\"seconds\":%.6f,\"fps\":%.0f,\"gbps\":%.3f}\n", frames, bytes, secs, fps, gbps)
	return nil
}
