package main

import (
	"fmt"
	"net"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// xdp sends every frame of a capture, one pass, as they are, through an
// AF_XDP socket in copy mode on queue 0 of iface: a measure of the AF_XDP
// send path for frames that cannot be merged, next to tcpreplay 4.6's.
func xdp(iface, in string) error {
	r, err := pcaps.Open(in)
	if err != nil {
		return err
	}
	defer r.Close()
	var frames [][]byte
	if err := r.Each(func(p *pcaps.Packet) error {
		frames = append(frames, append([]byte(nil), p.Data...))
		return nil
	}); err != nil {
		return err
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	const (
		chunk = 2048
		n     = 4096 // UMEM chunks and ring entries
	)
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("AF_XDP socket: %w", err)
	}
	defer unix.Close(fd)
	umem, err := unix.Mmap(-1, 0, n*chunk, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return err
	}
	defer unix.Munmap(umem)
	reg := unix.XDPUmemReg{Addr: uint64(uintptr(unsafe.Pointer(&umem[0]))), Len: uint64(len(umem)), Size: chunk}
	if err := setsockopt(fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return fmt.Errorf("XDP_UMEM_REG: %w", err)
	}
	for _, opt := range []int{unix.XDP_UMEM_FILL_RING, unix.XDP_UMEM_COMPLETION_RING, unix.XDP_TX_RING} {
		if err := unix.SetsockoptInt(fd, unix.SOL_XDP, opt, n); err != nil {
			return fmt.Errorf("ring %d: %w", opt, err)
		}
	}
	var off unix.XDPMmapOffsets
	size := uint32(unsafe.Sizeof(off))
	if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, unix.XDP_MMAP_OFFSETS, uintptr(unsafe.Pointer(&off)), uintptr(unsafe.Pointer(&size)), 0); e != 0 {
		return fmt.Errorf("XDP_MMAP_OFFSETS: %w", e)
	}
	txMap, err := unix.Mmap(fd, unix.XDP_PGOFF_TX_RING, int(off.Tx.Desc)+n*int(unsafe.Sizeof(unix.XDPDesc{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap tx ring: %w", err)
	}
	defer unix.Munmap(txMap)
	crMap, err := unix.Mmap(fd, unix.XDP_UMEM_PGOFF_COMPLETION_RING, int(off.Cr.Desc)+n*8, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap completion ring: %w", err)
	}
	defer unix.Munmap(crMap)
	if err := unix.Bind(fd, &unix.SockaddrXDP{Flags: unix.XDP_COPY, Ifindex: uint32(ifi.Index), QueueID: 0}); err != nil {
		return fmt.Errorf("bind AF_XDP to %s queue 0: %w", iface, err)
	}
	txProd := (*uint32)(unsafe.Pointer(&txMap[off.Tx.Producer]))
	txCons := (*uint32)(unsafe.Pointer(&txMap[off.Tx.Consumer]))
	descs := unsafe.Slice((*unix.XDPDesc)(unsafe.Pointer(&txMap[off.Tx.Desc])), n)
	crProd := (*uint32)(unsafe.Pointer(&crMap[off.Cr.Producer]))
	crCons := (*uint32)(unsafe.Pointer(&crMap[off.Cr.Consumer]))
	addrs := unsafe.Slice((*uint64)(unsafe.Pointer(&crMap[off.Cr.Desc])), n)
	free := make([]uint64, 0, n)
	for i := range n {
		free = append(free, uint64(i*chunk))
	}
	kick := func() { unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), 0, 0, unix.MSG_DONTWAIT, 0, 0) }
	reap := func() {
		prod := atomic.LoadUint32(crProd)
		for c := atomic.LoadUint32(crCons); c != prod; c++ {
			free = append(free, addrs[c&(n-1)])
		}
		atomic.StoreUint32(crCons, prod)
	}
	const batch = 256
	prod := atomic.LoadUint32(txProd)
	for i := 0; i < len(frames); {
		reap()
		k := 0
		for ; k < batch && i < len(frames) && len(free) > 0 && prod-atomic.LoadUint32(txCons) < n; k++ {
			a := free[len(free)-1]
			free = free[:len(free)-1]
			f := frames[i]
			if len(f) > chunk {
				return fmt.Errorf("frame %d of %d bytes does not fit a %d-byte chunk", i+1, len(f), chunk)
			}
			copy(umem[a:], f)
			descs[prod&(n-1)] = unix.XDPDesc{Addr: a, Len: uint32(len(f))}
			prod++
			i++
		}
		atomic.StoreUint32(txProd, prod)
		// In copy mode every kick transmits up to 32 descriptors, in the
		// caller's context: once the consumer has caught up, the frames are
		// on the device, so a path that follows them keeps their order.
		for atomic.LoadUint32(txCons) != prod {
			kick()
		}
	}
	for atomic.LoadUint32(txCons) != prod {
		kick()
	}
	fmt.Printf("xdp: %d frames through AF_XDP (copy mode) on %s\n", len(frames), iface)
	return nil
}

func setsockopt(fd, opt int, p unsafe.Pointer, size uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), size, 0)
	if e != 0 {
		return e
	}
	return nil
}
