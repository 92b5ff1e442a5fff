// Package capture records every frame an interface sends or receives,
// without loss at millions of frames per second, on a TPACKET_V3 ring
// (PACKET_RX_RING), restoring the VLAN tags the receive path moved into
// metadata, and reports the socket's own drop counter (PACKET_STATISTICS)
// so that loss is never hidden. verify and probe read what the kernel put
// on the wire with it.
//
//	c, err := capture.New("gsr-a", capture.Options{Outgoing: true})
//	...
//	frames, err := c.Stop()
//	_, drops := c.Stats()
//
// Linux only; on other systems the package is empty.
package capture
