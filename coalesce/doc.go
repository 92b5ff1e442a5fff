// Package coalesce is GRO in reverse for packet captures.
//
// A Coalescer reads captured frames and merges runs of consecutive TCP or UDP
// segments of one Flow into super-packets: the first segment's headers, the
// concatenated payload, and a virtio_net_hdr (gso.VnetHeader) that asks the
// kernel to cut it up again. A train of IPv4 fragments of one UDP datagram
// becomes the datagram itself with a UFO header (gso.UDP), but only once the
// whole train has been seen and its checksum holds; a train that fails gives
// back its fragments as they were. It merges only where Linux's software
// segmentation gives back the original frames byte for byte — every
// condition of the lossless merge checklist in docs/merge-rules.md — and
// passes everything else through unchanged. Every refusal and every end of a
// run has a Reason, counted in Stats.
//
//	c := coalesce.New(coalesce.DefaultOptions(), func(rec *coalesce.Record) error {
//		// rec.Packet is a frame passed through, or a super-packet whose
//		// rec.Meta.Vnet asks for rec.Meta.Segs segments.
//		return nil
//	})
//	for each captured packet p { c.Push(&p) }
//	c.Close()
//
// The pipeline around it: package pcaps reads captures, pcaps/header gives
// the typed header views the merge rules compare, coalesce/gso is the
// kernel's segmentation (the inverse of a merge), and coalesce/capfile
// writes coalesced captures and restores them. Meta, a super-packet's
// description, has a one-line text form for pcapng comments (AppendComment,
// ParseComment) so that Wireshark shows it and scripts can parse it.
package coalesce
