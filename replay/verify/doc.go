// Package verify proves that what leaves the kernel is the original trace.
// Verify replays a capture as GSO super-packets into a private lab (or from
// one existing interface to another), captures every frame the kernel
// segments, and compares them, packet by packet, with what must come out:
// the original frames, or for coalesced input and frames captured whole on
// TSO/GRO hosts, the reference segmentation. The verdict is exact,
// normalized, mismatch or lost; any drop a counter saw makes it lost, never
// a success.
//
//	rep, err := verify.Verify(ctx, "capture.pcap", open, verify.Options{})
//	if err == nil && rep.Verdict.Passed() { ... }
//
// VerifyGRO checks the receive side (every GRO packet lossless) and
// VerifyForward a router in the middle: GRO in, route, GSO or TSO out,
// every frame expected with exactly the routing's edits (Hop). Hop and
// its NotRouted reasons build on any system; the rest needs root and
// Linux.
package verify
