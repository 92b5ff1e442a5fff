// Package probe tells whether the kernel (or a NIC) in front of you
// segments GSO super-packets correctly and refuses bad virtio headers. Cases
// builds the conformance matrix — segmentation cases, one per shape the
// coalescer makes, each to be segmented byte for byte as the reference
// segmenter does, and validation cases from docs/kernel.md §4, each with the
// errno or drop it must give, aware of the kernel version where behaviour
// changed — and Run sends them through a packet socket in a private lab (or
// between two given interfaces) and compares what came out. The "-tap"
// kinds are written to a tap redirected to the same interface instead: the
// validation cases again, and UDP tunnel super-packets and the tunnel
// header's checks, which only a tap takes (Linux 6.17 on; skipped before).
//
// Two more matrices check the receive side and the forwarding path:
// GROCases and RunGRO send frames into a receiver running GRO and compare
// the packets it hands up with what Linux's GRO code must make;
// ForwardCases and RunForward send them through a lab router (GRO, route,
// GSO or TSO, verify.VerifyForward) and compare what comes out behind it
// with the frames sent, routed.
//
// The cases' frames are built with pcaps/craft, a builder independent of
// the code under test, and merged with the coalescer, so that the probe
// checks exactly what gsoreplay sends.
//
//	rep, err := probe.Run(ctx, probe.Options{})
//	fmt.Println(rep.Failed, "of", len(rep.Cases), "cases deviate")
package probe
