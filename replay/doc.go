// Package replay sends captures through the kernel as GSO super-packets.
//
// A library user calls Replay with Options (checked by Options.Validate):
// it reads the capture, turns it into super-packets with their virtio
// header (coalesced on the fly from a raw capture, read from a coalesced
// pcapng or vnet file, or built from the oversized frames of a TSO/GRO
// host) and the frames passed through, paces them (original timing
// anchored to the first packet, a multiplier, packets or megabits per
// second, or top speed), writes them to AF_PACKET sockets with
// PACKET_VNET_HDR in sendmmsg batches, so that the kernel — or the NIC —
// segments them, and checks the count against the interface's own tx
// counters (Report.IfaceCheck). An Observer, if given, is shown what is
// sent: verify builds its expectation from it.
//
//	open := func() (*pcaps.Reader, error) { return pcaps.Open("capture.pcap") }
//	rep, err := replay.Replay(ctx, "capture.pcap", open, "eth1", replay.Options{Pacing: replay.Pacing{Topspeed: true}})
//
// The stages after the socket live in sub-packages: lab (a private pair of
// namespaces with a veth link, and the Testbed verify and probe send and
// capture on), capture (a lossless TPACKET_V3 ring), compare
// (frame-by-frame classification), verify (all of it: the proof that the
// output equals the trace) and probe (the kernel's GSO conformance matrix).
package replay
