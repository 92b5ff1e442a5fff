package afpacket

import (
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Options choose what a socket is for.
type Options struct {
	// Protocol is the EtherType the socket receives (unix.ETH_P_ALL for a
	// capture); 0, for a socket that only sends, receives nothing.
	Protocol uint16
	// Vnet sets PACKET_VNET_HDR: every frame sent or received carries a
	// virtio_net_hdr in front.
	Vnet bool
	// SendBuffer, if set, forces SO_SNDBUF (SO_SNDBUFFORCE) to this many
	// bytes, best effort: a batch of 64 KiB super-packets then queues at once.
	SendBuffer int
	// SendTimeout, if set, makes a blocked send return (SO_SNDTIMEO).
	SendTimeout time.Duration
	// Setup, if set, runs after the options above and before bind: what
	// must be set on an unbound socket (PACKET_VERSION, PACKET_RX_RING).
	Setup func(fd int) error
}

// Open opens a raw AF_PACKET socket bound to iface in the calling
// thread's network namespace, and returns it with the interface's index.
func Open(iface string, o Options) (fd, index int, err error) {
	if index, err = InterfaceIndex(iface); err != nil {
		return -1, 0, err
	}
	proto := htons(o.Protocol)
	fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return -1, 0, fmt.Errorf("AF_PACKET socket on %s: %w (needs CAP_NET_RAW)", iface, err)
	}
	fail := func(op string, err error) (int, int, error) {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("%s on %s: %w", op, iface, err)
	}
	if o.Vnet {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return fail("PACKET_VNET_HDR", err)
		}
	}
	if o.SendBuffer > 0 {
		// Best effort: without CAP_NET_ADMIN the default buffer still works.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, o.SendBuffer)
	}
	if o.SendTimeout > 0 {
		tv := unix.NsecToTimeval(o.SendTimeout.Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
			return fail("SO_SNDTIMEO", err)
		}
	}
	if o.Setup != nil {
		if err := o.Setup(fd); err != nil {
			unix.Close(fd)
			return -1, 0, err
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: index}); err != nil {
		return fail("bind", err)
	}
	return fd, index, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// InterfaceIndex is the index of the interface name in the calling thread's
// network namespace, with an error worded for a person when there is none.
func InterfaceIndex(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		if strings.Contains(err.Error(), "no such network interface") {
			return 0, fmt.Errorf("no interface %q in this network namespace", name)
		}
		return 0, fmt.Errorf("interface %s: %w", name, err)
	}
	return ifi.Index, nil
}
