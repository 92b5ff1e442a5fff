// Package lab builds the private network that reproduces the kernel's
// software segmentation exactly: two network namespaces joined by a veth
// pair, the sender's transmit offloads off (so the kernel segments and
// writes full checksums itself), GRO and IPv6 off, the receiver's MAC
// matching no frame, so that nothing but what is replayed is sent and
// nothing leaves the lab (docs/lab.md). It also reads interface counters
// and the softnet drops, the kernel's own account of what it sent and lost.
//
// AddRouter turns B into a router with a third namespace behind it (GRO
// in, routing, software GSO or TSO out: verify --forward).
//
// A Testbed is what verify and probe run on: a Lab of its own (or two
// existing interfaces), its capture rings (at A's transmit tap, or behind
// B's GRO), the counters before and after, and one teardown on every path.
//
//	tb, err := lab.NewTestbed(lab.TestbedOptions{})
//	defer tb.Close()
//	before, err := tb.Counters()
//	err = tb.InSender(func() error { /* open sockets on tb.Send */ return nil })
//	tb.Wait(ctx, frames, 300*time.Millisecond)
//	out, err := tb.Stop()
//	after, err := tb.Counters()
//	drops := tb.Drops(before, after, out[0].Drops)
//
// It needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and Linux; on other systems
// the package is empty.
package lab
