package tap

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/coalesce/gso"
)

// Offloads a tap announces (TUNSETOFFLOAD, include/uapi/linux/if_tun.h).
const (
	tunFCsum             = 0x01
	tunFTSO4             = 0x02
	tunFTSO6             = 0x04
	tunFTSOECN           = 0x08
	tunFUSO4             = 0x20
	tunFUSO6             = 0x40
	tunFUDPTunnelGSO     = 0x080
	tunFUDPTunnelGSOCsum = 0x100
)

// ErrNoTunnelGSO: the kernel refuses a tap's UDP tunnel GSO (before Linux
// 6.17, "tun: enable gso over UDP tunnel support").
var ErrNoTunnelGSO = errors.New("UDP tunnel GSO through a tap needs Linux 6.17 or later")

// Tap is an open tap device.
type Tap struct {
	// Name is the interface's name.
	Name string
	// HeaderLen is the virtio header every Write begins with:
	// gso.VnetHeaderLen, or gso.VnetTunnelHeaderLen for a tunnel tap.
	HeaderLen int
	f         *os.File
	fd        uintptr
	link      netlink.Link
	iov       []unix.Iovec
}

// Open creates the tap name in the calling thread's network namespace,
// with IFF_VNET_HDR and the checksum, TSO and USO offloads announced, and,
// if tunnel, the 24-byte header and UDP tunnel GSO (with and without the
// outer checksum). The interface is brought up.
func Open(name string, tunnel bool) (t *Tap, err error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tap %s: /dev/net/tun: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "/dev/net/tun")
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return nil, fmt.Errorf("tap %s: TUNSETIFF: %w", name, err)
	}
	t = &Tap{Name: ifr.Name(), HeaderLen: gso.VnetHeaderLen, f: f, fd: uintptr(fd)}
	offloads := tunFCsum | tunFTSO4 | tunFTSO6 | tunFTSOECN | tunFUSO4 | tunFUSO6
	if tunnel {
		if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, gso.VnetTunnelHeaderLen); err != nil {
			return nil, fmt.Errorf("tap %s: TUNSETVNETHDRSZ %d: %w", name, gso.VnetTunnelHeaderLen, err)
		}
		t.HeaderLen = gso.VnetTunnelHeaderLen
		offloads |= tunFUDPTunnelGSO | tunFUDPTunnelGSOCsum
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, offloads); err != nil {
		if tunnel && errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("tap %s: TUNSETOFFLOAD: %w", name, ErrNoTunnelGSO)
		}
		return nil, fmt.Errorf("tap %s: TUNSETOFFLOAD %#x: %w", name, offloads, err)
	}
	if t.link, err = netlink.LinkByName(t.Name); err != nil {
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(t.link); err != nil {
		return nil, fmt.Errorf("tap %s: up: %w", name, err)
	}
	return t, nil
}

// Redirect sends everything written to the tap on out of iface: an ingress
// qdisc on the tap, a u32 filter matching all, a mirred egress redirect.
func (t *Tap) Redirect(iface string) error {
	out, err := netlink.LinkByName(iface)
	if err != nil {
		return fmt.Errorf("tap %s: redirect to %s: %w", t.Name, iface, err)
	}
	idx := t.link.Attrs().Index
	q := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: idx, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_INGRESS}}
	if err := netlink.QdiscAdd(q); err != nil {
		return fmt.Errorf("tap %s: ingress qdisc: %w", t.Name, err)
	}
	mirred := netlink.NewMirredAction(out.Attrs().Index)
	mirred.MirredAction = netlink.TCA_EGRESS_REDIR
	// u32 with one key of mask 0 matches every packet; it is in more
	// kernels than matchall.
	filter := &netlink.U32{
		FilterAttrs: netlink.FilterAttrs{LinkIndex: idx, Parent: netlink.MakeHandle(0xffff, 0), Priority: 1, Protocol: unix.ETH_P_ALL},
		Sel:         &netlink.TcU32Sel{Flags: netlink.TC_U32_TERMINAL, Nkeys: 1, Keys: []netlink.TcU32Key{{}}},
		Actions:     []netlink.Action{mirred},
	}
	if err := netlink.FilterAdd(filter); err != nil {
		return fmt.Errorf("tap %s: redirect to %s: %w", t.Name, iface, err)
	}
	return nil
}

// Write writes one packet, the concatenation of parts: a virtio header
// of HeaderLen bytes, then the frame, in as many pieces as it comes in
// (no copy in user space; the kernel copies them into one skb).
func (t *Tap) Write(parts ...[]byte) error {
	t.iov = t.iov[:0]
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		v := unix.Iovec{Base: &p[0]}
		v.SetLen(len(p))
		t.iov = append(t.iov, v)
	}
	err := t.Writev(t.iov)
	clear(t.iov) // no pointer into the caller's buffers stays behind
	if err != 0 {
		return err
	}
	return nil
}

// Writev writes one packet from iov (not empty), as Write does, and
// returns the errno (0 on success): a sender's hot path, without
// allocation.
func (t *Tap) Writev(iov []unix.Iovec) unix.Errno {
	_, _, errno := unix.Syscall(unix.SYS_WRITEV, t.fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	return errno
}

// Close deletes the tap (and its qdisc and filter with it).
func (t *Tap) Close() error {
	return t.f.Close()
}
