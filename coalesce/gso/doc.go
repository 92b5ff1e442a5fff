// Package gso is Linux's generic segmentation offload as a model: the
// virtio_net_hdr that asks for it (VnetHeader, with typed gso types and
// flags), the checks that decide whether the kernel takes such a header, and
// the Segmenter, a reference software GSO that gives the very frames Linux
// 6.18 puts on the wire for a super-packet when the device segments nothing
// (tcp_gso_segment, __udp_gso_segment, udp4_ufo_fragment).
//
// It is the inverse of package coalesce: whatever coalesce merges, Segment
// gives back byte for byte; replay and verify use it to know what the kernel
// must send.
//
//	var s gso.Segmenter
//	frames, err := s.Segment(super, layers.LinkTypeEthernet, h)
//
// The rules are described in docs/kernel.md (§1.3 the header checks, §2 the
// segmentation), verified on Linux 6.18.
package gso
