package capfile_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/lab"
)

// TestVnetFileIntoTap: a vnet file is what a tap opened with IFF_VNET_HDR
// takes. Every record of the coalesced kernel captures (TCP, USO and UFO
// super-packets, plain frames), written as it stands, is accepted, and a
// packet socket on the tap sees the very frame with the gso_type and
// gso_size the record asked for — except UFO, which virtio_net_hdr_from_skb
// cannot express, so the socket's read fails with EINVAL, the kernel's own
// word that the skb is SKB_GSO_UDP. The tap's receive counters hold every
// record and every byte.
func TestVnetFileIntoTap(t *testing.T) {
	testenv.RequireRoot(t)
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = l.Do(l.A, func() error {
		tap, err := openTap("gsr-tap")
		if err != nil {
			return err
		}
		defer unix.Close(tap)
		link, err := netlink.LinkByName("gsr-tap")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return err
		}
		cap, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		defer unix.Close(cap)
		if err := unix.SetsockoptInt(cap, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return err
		}
		if err := unix.SetsockoptTimeval(cap, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 2}); err != nil {
			return err
		}
		if err := unix.Bind(cap, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: link.Attrs().Index}); err != nil {
			return err
		}
		for _, name := range []string{"kernel-traffic", "kernel-fragments"} {
			if err := tapFile(t, tap, cap, link, "../../testdata/"+name+".pcap"); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tapFile coalesces a capture into vnet records and writes them to the tap
// one by one, reading each back from the packet socket.
func tapFile(t *testing.T, tap, cap int, link netlink.Link, path string) error {
	r, err := pcaps.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	var file bytes.Buffer
	o := coalesce.DefaultOptions()
	o.Order = coalesce.Strict
	if _, err := capfile.Coalesce(r, pcaps.NewWriter(&file, pcaps.WriterOptions{Format: pcaps.FormatVnet, LinkType: layers.LinkTypeEthernet}), o, nil); err != nil {
		return err
	}
	vr, err := pcaps.NewReader(&file, path+".vnet")
	if err != nil {
		return err
	}
	got := make([]byte, 1<<17)
	types := map[gso.Type]int{}
	before, err := tapCounters(link)
	if err != nil {
		return err
	}
	var bytesIn uint64
	err = vr.Each(func(p *pcaps.Packet) error {
		bytesIn += uint64(len(p.Data))
		want, _ := gso.DecodeVnetHeader(p.Vnet)
		types[want.GSOType]++
		rec := append(append([]byte(nil), p.Vnet...), p.Data...)
		if n, err := unix.Write(tap, rec); err != nil || n != len(rec) {
			return fmt.Errorf("record %d (%d bytes): write %d, %v", vr.Count(), len(rec), n, err)
		}
		n, _, err := unix.Recvfrom(cap, got, 0)
		if want.GSOType == gso.UDP {
			if err != unix.EINVAL {
				return fmt.Errorf("record %d (UFO): read %d bytes, %v; want EINVAL", vr.Count(), n, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("record %d: nothing seen on the tap: %v", vr.Count(), err)
		}
		seen, _ := gso.DecodeVnetHeader(got[:n])
		if !bytes.Equal(got[gso.VnetHeaderLen:n], p.Data) || seen.GSOType != want.GSOType || seen.GSOSize != want.GSOSize {
			return fmt.Errorf("record %d: the tap saw gso %s/%d, %d bytes; written gso %s/%d, %d bytes",
				vr.Count(), seen.GSOType, seen.GSOSize, n-gso.VnetHeaderLen,
				want.GSOType, want.GSOSize, len(p.Data))
		}
		return nil
	})
	if err != nil {
		return err
	}
	after, err := tapCounters(link)
	if err != nil {
		return err
	}
	t.Logf("%s: %d records through the tap, by gso_type %v", path, vr.Count(), types)
	if after.RxPackets-before.RxPackets != uint64(vr.Count()) || after.RxBytes-before.RxBytes != bytesIn {
		return fmt.Errorf("tap received %d packets, %d bytes; written %d records, %d bytes",
			after.RxPackets-before.RxPackets, after.RxBytes-before.RxBytes, vr.Count(), bytesIn)
	}
	return nil
}

func tapCounters(link netlink.Link) (netlink.LinkStatistics, error) {
	l, err := netlink.LinkByIndex(link.Attrs().Index)
	if err != nil || l.Attrs().Statistics == nil {
		return netlink.LinkStatistics{}, fmt.Errorf("tap counters: %v", err)
	}
	return *l.Attrs().Statistics, nil
}

func openTap(name string) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("/dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("TUNSETIFF", err)
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
