// Package capfile reads and writes coalesced captures.
//
// A coalesced capture is a pcapng file whose super-packets are Enhanced
// Packet Blocks carrying the frame the kernel would receive from AF_PACKET,
// with their coalesce.Meta (virtio header, segment count, timing, places) in
// the packet comment; packets that were not merged are written unchanged;
// the section comment names the original format (Origin) so that it can be
// written back. A vnet record file (pcaps.FormatVnet) is the other form.
//
// Coalesce streams a capture into such a file with bounded memory, reading
// and classifying on one core while merging and writing on another; Restore
// streams it back into the original packets with the reference segmenter,
// each at its original time and place:
//
//	r, _ := pcaps.Open("capture.pcap")
//	w := pcaps.NewWriter(out, pcaps.WriterOptions{Format: pcaps.FormatPcapNG, Comment: capfile.OriginOf(r).String()})
//	stats, err := capfile.Coalesce(r, w, coalesce.DefaultOptions(), nil)
package capfile
