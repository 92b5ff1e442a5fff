// Package coalesce is GRO in reverse for packet captures.
//
// A Coalescer reads captured frames and merges runs of consecutive TCP or UDP
// segments of one flow into super-packets: the first segment's headers, the
// concatenated payload, and a virtio_net_hdr (VnetHeader) that asks the
// kernel to cut it up again. A train of IPv4 fragments of one UDP datagram
// becomes the datagram itself with a UFO header (GSO_UDP), but only once the
// whole train has been seen and its checksum holds; a train that fails gives
// back its fragments as they were. It merges only where Linux's software
// segmentation gives back the original frames byte for byte — every
// condition of the lossless merge checklist in kernel-gso.md §6 — and passes
// everything else through unchanged. Every refusal and every end of a run
// has a Reason, counted in Stats.
//
// The Segmenter is the reference for the other direction: software GSO as
// Linux 6.18 does it (tcp_gso_segment, __udp_gso_segment, udp4_ufo_fragment),
// including the virtio header checks that decide EINVAL. A Restorer uses it
// to turn a coalesced capture back into the original one: segments get their
// original timestamps and, for per-flow merges, their original places
// between other flows' packets.
//
// On disk a super-packet is one pcapng record whose comment carries its Meta
// in a documented one-line syntax (see AppendComment), so that Wireshark
// shows it and scripts can parse it.
package coalesce
