// Package lab builds the private network that reproduces the kernel's
// software segmentation exactly: two network namespaces joined by a veth
// pair, the sender's transmit offloads off (so the kernel segments and
// writes full checksums itself), GRO and IPv6 off, the receiver's MAC
// matching no frame, so that nothing but what is replayed is sent and
// nothing leaves the lab (replay-lab.md). It also reads interface counters
// and the softnet drops, the kernel's own account of what it sent and lost.
//
//	l, err := lab.New()
//	defer l.Close()
//	err = l.Do(l.A, func() error { /* open sockets on l.IfA */ return nil })
//
// It needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and Linux; on other systems
// the package is empty.
package lab
