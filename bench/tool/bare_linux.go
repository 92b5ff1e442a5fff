package main

import (
	"fmt"
	"net"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
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

func bare(iface string, d time.Duration, batch int) error {
	frame, h, segs, err := superPacket()
	if err != nil {
		return err
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
		return err
	}
	var hdr [gso.VnetHeaderLen]byte
	h.Encode(hdr[:])
	iov := []unix.Iovec{{Base: &hdr[0]}, {Base: &frame[0]}}
	iov[0].SetLen(len(hdr))
	iov[1].SetLen(len(frame))
	msgs := make([]unix.Mmsghdr, batch)
	for i := range msgs {
		msgs[i].Hdr.Iov = &iov[0]
		msgs[i].Hdr.SetIovlen(2)
	}
	var sent, failed int64
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(batch), 0, 0, 0)
		if e != 0 {
			failed++
			continue
		}
		sent += int64(r)
	}
	fmt.Printf("bare: %d super-packets of %d segments (%d frames), %d failed calls\n", sent, segs, sent*int64(segs), failed)
	return nil
}
