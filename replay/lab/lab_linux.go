package lab

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Lab is two private network namespaces joined by a veth pair: A sends, B
// receives. A's offloads are off so that the kernel segments in software and
// writes full checksums (docs/lab.md); neither side has an address, IPv6 is
// off, and B's MAC matches no frame, so the stacks say nothing and nothing
// can leave the lab. Closing the namespace handles destroys everything.
type Lab struct {
	A, B     netns.NsHandle
	IfA, IfB string
	// IfA2 and IfB2 are the second pair's (AddPair), for two-interface
	// replays; empty without.
	IfA2, IfB2 string
	// Router is set by AddRouter: B then forwards to a third namespace.
	Router *Router
	hA, hB *netlink.Handle
}

// receiverMAC is B's address: locally administered, unlikely in any capture.
var receiverMAC = [6]byte{0x02, 0x47, 0x53, 0x52, 0x4c, 0x42}

// receiverMAC2 is the second pair's B side.
var receiverMAC2 = [6]byte{0x02, 0x47, 0x53, 0x52, 0x4c, 0x43}

// ReceiverMTU is B's MTU: veth's largest.
const ReceiverMTU = 65535

// New builds the lab. A keeps veth's default MTU (1500); B takes the largest.
func New() (lab *Lab, err error) {
	lab = &Lab{A: -1, B: -1, IfA: "gsr-a", IfB: "gsr-b"}
	defer func() {
		if err != nil {
			lab.Close()
			lab = nil
		}
	}()
	if lab.A, err = newNamespace(); err != nil {
		return lab, err
	}
	if lab.B, err = newNamespace(); err != nil {
		return lab, err
	}
	if lab.hA, err = netlink.NewHandleAt(lab.A); err != nil {
		return lab, fmt.Errorf("lab: netlink: %w", err)
	}
	if lab.hB, err = netlink.NewHandleAt(lab.B); err != nil {
		return lab, fmt.Errorf("lab: netlink: %w", err)
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: lab.IfA, TxQLen: 1000}, PeerName: lab.IfB,
		PeerNamespace: netlink.NsFd(int(lab.B)), PeerHardwareAddr: receiverMAC[:]}
	if err = lab.hA.LinkAdd(veth); err != nil {
		return lab, fmt.Errorf("lab: veth pair: %w", err)
	}
	if err = lab.Do(lab.A, func() error { return Setup(lab.hA, lab.IfA, true) }); err != nil {
		return lab, err
	}
	if err = lab.Do(lab.B, func() error { return Setup(lab.hB, lab.IfB, false) }); err != nil {
		return lab, err
	}
	return lab, nil
}

// newNamespace makes a network namespace with IPv6 off, leaving the
// calling thread where it was.
func newNamespace() (ns netns.NsHandle, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return -1, fmt.Errorf("lab: current namespace: %w", err)
	}
	defer orig.Close()
	if ns, err = netns.New(); err != nil {
		return -1, fmt.Errorf("lab: new namespace (needs CAP_SYS_ADMIN): %w", err)
	}
	disableIPv6("all", "default")
	if err := netns.Set(orig); err != nil {
		// A thread stuck in the lab must not run anything else.
		panic(fmt.Sprintf("cannot leave the lab namespace: %v", err))
	}
	return ns, nil
}

func disableIPv6(ifaces ...string) {
	for _, i := range ifaces {
		// Absent when the kernel has no IPv6: then there is nothing to quiet.
		_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+i+"/disable_ipv6", []byte("1"), 0)
	}
}

// Setup configures the interface name as a lab side, in the calling
// thread's namespace (h is its netlink handle): IPv6 off, offloads off (a
// sender: every transmit segmentation and checksum feature, checked; both:
// GRO), a receiver's MTU the largest, link up. Use it on interfaces of your
// own that verify is to use as they would be in a lab.
func Setup(h *netlink.Handle, name string, sender bool) error {
	disableIPv6(name)
	et, err := ethtool.NewEthtool()
	if err != nil {
		return fmt.Errorf("lab: ethtool: %w", err)
	}
	defer et.Close()
	names, err := et.FeatureNames(name)
	if err != nil {
		return fmt.Errorf("lab: ethtool features of %s: %w", name, err)
	}
	off := map[string]bool{}
	for f := range names {
		switch {
		case sender && strings.HasPrefix(f, "tx-") && (strings.Contains(f, "segmentation") || strings.Contains(f, "checksum")):
			off[f] = false
		case strings.HasPrefix(f, "rx-gro"):
			off[f] = false
		}
	}
	if err := et.Change(name, off); err != nil {
		return fmt.Errorf("lab: ethtool -K %s: %w", name, err)
	}
	if sender {
		if err := checkOffloadsOff(et, name); err != nil {
			return err
		}
	}
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("lab: %s: %w", name, err)
	}
	if !sender {
		// veth drops what is longer than the receiver's MTU plus one tag
		// (is_skb_forwardable): QinQ frames of a 1500-byte network would be
		// counted as tx_dropped on A. B only listens, so it takes anything.
		if err := h.LinkSetMTU(link, ReceiverMTU); err != nil {
			return fmt.Errorf("lab: %s mtu %d: %w", name, ReceiverMTU, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("lab: %s up: %w", name, err)
	}
	return nil
}

// checkOffloadsOff refuses a sender that would still segment in hardware or
// leave partial checksums: the lab's output would not be the kernel's
// software GSO.
func checkOffloadsOff(et *ethtool.Ethtool, name string) error {
	feats, err := et.Features(name)
	if err != nil {
		return fmt.Errorf("lab: ethtool features of %s: %w", name, err)
	}
	for _, f := range []string{"tx-tcp-segmentation", "tx-tcp6-segmentation", "tx-generic-segmentation", "tx-udp-segmentation", "tx-checksum-ip-generic"} {
		if on, ok := feats[f]; ok && on {
			return fmt.Errorf("lab: %s still has %s on", name, f)
		}
	}
	return nil
}

// AddPair joins A and B by a second veth pair (gsr-a2, gsr-b2), set up as
// the first: what a two-interface replay sends on.
func (l *Lab) AddPair() error {
	l.IfA2, l.IfB2 = l.IfA+"2", l.IfB+"2"
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: l.IfA2, TxQLen: 1000}, PeerName: l.IfB2,
		PeerNamespace: netlink.NsFd(int(l.B)), PeerHardwareAddr: receiverMAC2[:]}
	if err := l.hA.LinkAdd(veth); err != nil {
		return fmt.Errorf("lab: second veth pair: %w", err)
	}
	if err := l.Do(l.A, func() error { return Setup(l.hA, l.IfA2, true) }); err != nil {
		return err
	}
	return l.Do(l.B, func() error { return Setup(l.hB, l.IfB2, false) })
}

// Do runs fn on a thread in namespace ns. Sockets opened there stay in it
// wherever they are used later.
func (l *Lab) Do(ns netns.NsHandle, fn func() error) error {
	return inNamespace(ns, fn)
}

func inNamespace(ns netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			// A thread stuck in the lab must not run anything else.
			panic(fmt.Sprintf("cannot leave the lab namespace: %v", err))
		}
	}()
	return fn()
}

// Handle is the netlink handle of the namespace that holds the lab's
// interface iface (IfA or IfB), for LinkCounters and link lookups.
func (l *Lab) Handle(iface string) *netlink.Handle {
	if r := l.Router; r != nil && iface == r.IfC {
		return r.hC
	}
	if iface == l.IfB || iface != "" && (iface == l.IfB2 || l.Router != nil && iface == l.Router.IfR) {
		return l.hB
	}
	return l.hA
}

// Link looks the interface name up through the netlink handle h (of the
// interface's namespace), retrying interrupted dumps.
func Link(h *netlink.Handle, name string) (netlink.Link, error) {
	for range 5 {
		link, err := h.LinkByName(name)
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return link, nil
	}
	return nil, fmt.Errorf("%s: netlink dump kept being interrupted", name)
}

// LinkCounters reads an interface's counters through the netlink handle h
// (of the interface's namespace).
func LinkCounters(h *netlink.Handle, name string) (netlink.LinkStatistics, error) {
	link, err := Link(h, name)
	if err != nil {
		return netlink.LinkStatistics{}, fmt.Errorf("counters: %w", err)
	}
	if st := link.Attrs().Statistics; st != nil {
		return *st, nil
	}
	return netlink.LinkStatistics{}, fmt.Errorf("%s: no counters", name)
}

// Close destroys the lab: deleting the veth and dropping the last
// references to the namespaces.
func (l *Lab) Close() error {
	if l == nil {
		return nil
	}
	if l.hA != nil {
		for _, name := range []string{l.IfA, l.IfA2} {
			if link, err := l.hA.LinkByName(name); name != "" && err == nil {
				l.hA.LinkDel(link)
			}
		}
		l.hA.Close()
	}
	if l.hB != nil {
		l.hB.Close()
	}
	l.Router.close()
	if l.A >= 0 {
		l.A.Close()
	}
	if l.B >= 0 {
		l.B.Close()
	}
	l.A, l.B, l.hA, l.hB = -1, -1, nil, nil
	return nil
}
