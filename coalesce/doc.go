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
//	opts := coalesce.DefaultOptions()
//	c := coalesce.New(opts, func(rec *coalesce.Record) error {
//		// rec.Packet is a frame passed through, or a super-packet whose
//		// rec.Meta.Vnet asks for rec.Meta.Segs segments.
//		return nil
//	})
//	for each captured packet p { c.Push(&p) }
//	c.Close()
//	sum := c.Stats().Summary(opts, 0) // what merged, and why the rest did not
//
// What a user calls: New with Options (DefaultOptions, checked by
// Options.Validate, whose errors are *OptionError; Order reads its name
// with UnmarshalText), then Push and Close, each Record coming out through
// the callback; Stats, and Summary for a report keyed by stable names. Meta,
// a super-packet's description, has a one-line text form for pcapng
// comments (AppendComment, ParseComment) so that Wireshark shows it and
// scripts can parse it. Flow and FlowOf group frames by flow.
//
// The rest serves pipelines that send what they coalesce: Classified and
// Coalescer.PushClassified classify a packet on one core and merge it on
// another; Coalescer.Borrow and ExpireBefore keep slices of the caller's
// packets instead of copies (a super-packet is then its headers and
// Record.Parts), and Coalescer.Retain lets the callback keep a record's
// buffer until Release; TCPView reads a frame captured whole on a TSO/GRO
// host so that gso.BuildTSO can make it a super-packet again.
//
// Around it: package pcaps reads captures, pcaps/header gives the typed
// header views the merge rules compare, coalesce/gso is the kernel's
// segmentation (the inverse of a merge), coalesce/capfile writes coalesced
// captures and restores them, and coalesce/inspect reports on a capture.
package coalesce
