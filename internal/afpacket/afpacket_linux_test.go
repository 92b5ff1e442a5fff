package afpacket

import (
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
)

// TestOpen: the socket is bound to the interface and has the options
// asked for, as the kernel reports them back.
func TestOpen(t *testing.T) {
	testenv.RequireRoot(t)
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"send only", Options{}},
		{"vnet, timeout", Options{Vnet: true, SendTimeout: 1500 * time.Millisecond}},
		{"capture", Options{Protocol: unix.ETH_P_ALL, Setup: func(fd int) error {
			return unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3)
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd, index, err := Open("lo", tc.o)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if index != lo.Index {
				t.Errorf("index %d, lo is %d", index, lo.Index)
			}
			sa, err := unix.Getsockname(fd)
			if ll, ok := sa.(*unix.SockaddrLinklayer); err != nil || !ok || ll.Ifindex != lo.Index {
				t.Errorf("bound to %+v (%v), want ifindex %d", sa, err, lo.Index)
			}
			vnet, err := unix.GetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR)
			if err != nil || (vnet != 0) != tc.o.Vnet {
				t.Errorf("PACKET_VNET_HDR %d (%v), want %v", vnet, err, tc.o.Vnet)
			}
			tv, err := unix.GetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO)
			if got := time.Duration(tv.Nano()); err != nil || got != tc.o.SendTimeout {
				t.Errorf("SO_SNDTIMEO %v (%v), want %v", got, err, tc.o.SendTimeout)
			}
			if tc.o.Setup != nil {
				if v, err := unix.GetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION); err != nil || v != unix.TPACKET_V3 {
					t.Errorf("PACKET_VERSION %d (%v): Setup did not run", v, err)
				}
			}
		})
	}
}

// TestNoInterface: a missing interface is named in words, before any
// socket is made.
func TestNoInterface(t *testing.T) {
	_, _, err := Open("gsr-none0", Options{})
	if err == nil || !strings.Contains(err.Error(), `no interface "gsr-none0" in this network namespace`) {
		t.Fatalf("%v", err)
	}
}
