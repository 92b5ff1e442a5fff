package lab

import (
	"fmt"
	"net"
	"os"

	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Egress is how the lab's router sends what it forwards.
type Egress uint8

// Egress modes: the router's egress segments GRO packets in software
// (its transmit offloads off, as a NIC without TSO), or passes them whole
// to the receiver (TSO on: as to a TSO NIC), where they are captured with
// their virtio header and checked by the reference segmentation.
const (
	EgressGSO Egress = iota
	EgressTSO
)

var egressWords = [...]string{EgressGSO: "gso", EgressTSO: "tso"}

func (e Egress) String() string {
	if int(e) < len(egressWords) {
		return egressWords[e]
	}
	return fmt.Sprintf("Egress(%d)", uint8(e))
}

// MarshalText writes the word.
func (e Egress) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText reads what MarshalText wrote (a report read back).
func (e *Egress) UnmarshalText(b []byte) error {
	v, err := ParseEgress(string(b))
	if err == nil {
		*e = v
	}
	return err
}

// ParseEgress reads "gso" or "tso".
func ParseEgress(s string) (Egress, error) {
	for i, w := range egressWords {
		if w == s {
			return Egress(i), nil
		}
	}
	return 0, fmt.Errorf("egress %q: want gso or tso", s)
}

// RouterOptions shape the lab's router.
type RouterOptions struct {
	Egress Egress
	// GROList turns on fraglist GRO (rx-gro-list) at the router's ingress.
	GROList bool
	// MTU of the router's egress (1500 if 0): what it forwards alone must
	// fit; GRO packets are cut to their own segment size.
	MTU int
	// WholeIn turns TSO on at the sender's end (A), its GSO limits at
	// their most, so that super-packets reach the router whole, as from a
	// VM or container: its GRO passes them up unmerged. Without, A cuts
	// them in software, and a burst of segments can overflow the router's
	// NAPI ring (256 frames, drained once per flush timeout): those
	// segments are lost. (A queue in front of A would hold them, but
	// veth's requeue then reorders segments: docs/lab.md §6a.)
	WholeIn bool
	// BigTCP, if not 0, raises the router's GRO and GSO limits to this
	// many bytes (gro_max_size and gro_ipv4_max_size at its ingress,
	// gso_max_size and gso_ipv4_max_size at its egress): its GRO then
	// builds packets above 64 KiB, and TSO egress passes them on whole. 0
	// leaves the kernel's 65536.
	BigTCP int
	// SNAT makes the router source-NAT what it forwards to SNAT4 and
	// SNAT6 (nftables, conntrack), the hazard of GRO packets rewritten by
	// NAT before they are cut.
	SNAT bool
}

// tsoOn are the features that make a veth pass GSO packets on whole as a
// TSO NIC takes them: the segments keep the IDs the packet gives
// (mangleid off), and a fraglist GRO packet is cut before it (tx-gso-list
// off: no NIC takes one).
var tsoOn = map[string]bool{"tx-checksum-ip-generic": true, "tx-scatter-gather": true,
	"tx-tcp-segmentation": true, "tx-tcp6-segmentation": true, "tx-udp-segmentation": true,
	"tx-generic-segmentation": true, "tx-tcp-mangleid-segmentation": false, "tx-gso-list": false}

// Limits of RouterOptions.BigTCP: above 64 KiB, up to the kernel's
// GSO_MAX_SIZE and GRO_MAX_SIZE (8 × 65535), which veth accepts.
const (
	MinBigTCP = 65536 + 1
	MaxBigTCP = 8 * 65535
)

// Router is the third namespace of a forwarding lab: B forwards what A
// sends to C. Its addresses are link-local and private to the lab.
type Router struct {
	// C is the final receiver's namespace; IfR is B's egress, IfC C's end.
	C        netns.NsHandle
	IfR, IfC string
	// OutMAC is IfR's address (the source of every forwarded frame),
	// InMAC IfB's (the destination A's frames must carry), ReceiverMAC
	// C's (the destination of every forwarded frame).
	OutMAC, InMAC, ReceiverMAC net.HardwareAddr
	hC                         *netlink.Handle
}

// routerReceiverMAC is C's address.
var routerReceiverMAC = net.HardwareAddr{0x02, 0x47, 0x53, 0x52, 0x4c, 0x44}

// The router's next hop toward C, reached on-link with a permanent
// neighbour entry: nothing is resolved, nothing but the forwarded frames
// crosses to C.
var (
	nextHop4 = net.IPv4(169, 254, 71, 2)
	nextHop6 = net.ParseIP("fe80::4753:524c:44")
)

// AddRouter turns B into a router: a third namespace C joined to B by a
// second veth pair (gsr-r, gsr-c), B's ingress GRO on (ReceiverGRO is
// the caller's, with its timeouts), IPv4 and IPv6 forwarding on with
// default routes to C, reverse-path filtering and redirects off, and B's
// interfaces without addresses (addr_gen_mode none: B sends no neighbour
// discovery or MLD of its own). C listens as B listens in a plain lab.
func (l *Lab) AddRouter(o RouterOptions) (r *Router, err error) {
	if o.MTU == 0 {
		o.MTU = 1500
	}
	r = &Router{C: -1, IfR: "gsr-r", IfC: "gsr-c", InMAC: net.HardwareAddr(receiverMAC[:]), ReceiverMAC: routerReceiverMAC}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if err := inNamespace(l.B, func() error {
		// Interfaces created from now on in B (the egress) start without
		// addresses; IfB exists already and is set alike below.
		return writeSysctls(map[string]string{
			"net/ipv6/conf/default/addr_gen_mode": "1",
			"net/ipv6/conf/default/accept_ra":     "0",
		})
	}); err != nil {
		return r, err
	}
	if r.C, err = newNamespace(); err != nil {
		return r, err
	}
	if r.hC, err = netlink.NewHandleAt(r.C); err != nil {
		return r, fmt.Errorf("lab: netlink: %w", err)
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: r.IfR, TxQLen: 1000, MTU: o.MTU}, PeerName: r.IfC,
		PeerNamespace: netlink.NsFd(int(r.C)), PeerHardwareAddr: routerReceiverMAC}
	if err = l.hB.LinkAdd(veth); err != nil {
		return r, fmt.Errorf("lab: router veth pair: %w", err)
	}
	if err = inNamespace(r.C, func() error { return Setup(r.hC, r.IfC, false) }); err != nil {
		return r, err
	}
	if err = inNamespace(l.B, func() error { return l.routerSetup(r, o) }); err != nil {
		return r, err
	}
	if o.WholeIn {
		if err = l.senderWhole(); err != nil {
			return r, err
		}
	}
	l.Router = r
	return r, nil
}

// routerSetup configures B, in B's namespace.
func (l *Lab) routerSetup(r *Router, o RouterOptions) error {
	sysctls := map[string]string{
		"net/ipv4/ip_forward":                       "1",
		"net/ipv4/conf/all/rp_filter":               "0",
		"net/ipv4/conf/default/rp_filter":           "0",
		"net/ipv4/conf/all/send_redirects":          "0",
		"net/ipv6/conf/all/forwarding":              "1",
		"net/ipv6/conf/" + l.IfB + "/accept_ra":     "0",
		"net/ipv6/conf/" + l.IfB + "/addr_gen_mode": "1",
	}
	for _, ifc := range []string{l.IfB, r.IfR} {
		sysctls["net/ipv4/conf/"+ifc+"/rp_filter"] = "0"
		sysctls["net/ipv4/conf/"+ifc+"/send_redirects"] = "0"
	}
	if err := writeSysctls(sysctls); err != nil {
		return err
	}
	if err := Setup(l.hB, r.IfR, true); err != nil {
		return err
	}
	// IPv6 on last (Setup turns it off), once no address can be made.
	if err := writeSysctls(map[string]string{
		"net/ipv6/conf/all/disable_ipv6":           "0",
		"net/ipv6/conf/" + l.IfB + "/disable_ipv6": "0",
		"net/ipv6/conf/" + r.IfR + "/disable_ipv6": "0",
	}); err != nil {
		return err
	}
	et, err := ethtool.NewEthtool()
	if err != nil {
		return fmt.Errorf("lab: ethtool: %w", err)
	}
	defer et.Close()
	if o.GROList {
		if err := et.Change(l.IfB, map[string]bool{"rx-gro-list": true}); err != nil {
			return fmt.Errorf("lab: ethtool -K %s rx-gro-list on: %w", l.IfB, err)
		}
	}
	if o.Egress == EgressTSO {
		// What GRO merged leaves whole.
		if err := et.Change(r.IfR, tsoOn); err != nil {
			return fmt.Errorf("lab: ethtool -K %s tso on: %w", r.IfR, err)
		}
	}
	if o.BigTCP > 0 {
		if err := l.bigTCP(r, o.BigTCP); err != nil {
			return err
		}
	}
	if o.SNAT {
		if err := addSNAT(int(l.B)); err != nil {
			return err
		}
	}
	// An on-link IPv4 gateway is checked against the local table, which
	// is empty while lo is down.
	lo, err := Link(l.hB, "lo")
	if err != nil {
		return err
	}
	if err := l.hB.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lab: router lo up: %w", err)
	}
	link, err := Link(l.hB, r.IfR)
	if err != nil {
		return err
	}
	if out := link.Attrs().HardwareAddr; len(out) == 6 {
		r.OutMAC = out
	}
	for _, hop := range []net.IP{nextHop4, nextHop6} {
		family := netlink.FAMILY_V4
		if hop.To4() == nil {
			family = netlink.FAMILY_V6
		}
		n := &netlink.Neigh{LinkIndex: link.Attrs().Index, Family: family, State: netlink.NUD_PERMANENT, IP: hop, HardwareAddr: routerReceiverMAC}
		if err := l.hB.NeighSet(n); err != nil {
			return fmt.Errorf("lab: router neighbour %v: %w", hop, err)
		}
		rt := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: hop, Flags: int(netlink.FLAG_ONLINK), Family: family}
		if err := l.hB.RouteAdd(rt); err != nil {
			return fmt.Errorf("lab: router default route via %v: %w", hop, err)
		}
	}
	return nil
}

// senderWhole turns A's TSO on (RouterOptions.WholeIn), in A's namespace,
// and raises A's GSO limits to the most the kernel takes: whatever the
// sender makes crosses to the router whole; the router's own limits are
// what the lab tests.
func (l *Lab) senderWhole() error {
	if err := l.Do(l.A, func() error {
		et, err := ethtool.NewEthtool()
		if err != nil {
			return fmt.Errorf("lab: ethtool: %w", err)
		}
		defer et.Close()
		if err := et.Change(l.IfA, tsoOn); err != nil {
			return fmt.Errorf("lab: ethtool -K %s tso on: %w", l.IfA, err)
		}
		return nil
	}); err != nil {
		return err
	}
	a, err := Link(l.hA, l.IfA)
	if err != nil {
		return err
	}
	return setLimits([]limit{{"gso_max_size", a, l.hA.LinkSetGSOMaxSize}, {"gso_ipv4_max_size", a, l.hA.LinkSetGSOIPv4MaxSize}}, MaxBigTCP)
}

// bigTCP raises the router's GRO limits at its ingress and its GSO
// limits at its egress to size bytes.
func (l *Lab) bigTCP(r *Router, size int) error {
	in, err := Link(l.hB, l.IfB)
	if err != nil {
		return err
	}
	out, err := Link(l.hB, r.IfR)
	if err != nil {
		return err
	}
	return setLimits([]limit{
		{"gro_max_size", in, l.hB.LinkSetGROMaxSize},
		{"gro_ipv4_max_size", in, l.hB.LinkSetGROIPv4MaxSize},
		{"gso_max_size", out, l.hB.LinkSetGSOMaxSize},
		{"gso_ipv4_max_size", out, l.hB.LinkSetGSOIPv4MaxSize},
	}, size)
}

// limit is one of a link's GRO or GSO size limits and its netlink setter.
type limit struct {
	what string
	link netlink.Link
	set  func(netlink.Link, int) error
}

func setLimits(limits []limit, size int) error {
	for _, l := range limits {
		if err := l.set(l.link, size); err != nil {
			return fmt.Errorf("lab: %s %s %d: %w", l.link.Attrs().Name, l.what, size, err)
		}
	}
	return nil
}

// writeSysctls writes /proc/sys files of the calling thread's namespace.
func writeSysctls(files map[string]string) error {
	for k, v := range files {
		if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0); err != nil {
			return fmt.Errorf("lab: sysctl %s=%s: %w", k, v, err)
		}
	}
	return nil
}

func (r *Router) close() {
	if r == nil {
		return
	}
	if r.hC != nil {
		r.hC.Close()
		r.hC = nil
	}
	if r.C >= 0 {
		r.C.Close()
		r.C = -1
	}
}
