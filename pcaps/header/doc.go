// Package header gives typed views over the bytes of a captured frame, in
// the style of gVisor's pkg/tcpip/header: a header is a byte slice type
// (IPv4, TCP, ...) whose methods read and write its fields in place, so that
// parsing costs nothing and allocates nothing. Check IsValid (or the length
// a method names) before reading fields; accessors do not check bounds
// beyond what Go's slices do.
//
// It covers what gsoreplay walks: link-layer headers (Ethernet with
// 802.1Q/802.1ad/QinQ tags, Linux cooked SLL and SLL2, BSD loopback, raw IP),
// IPv4 with options, IPv6 with the extension headers GSO copies, TCP with
// options and UDP. The virtio_net_hdr that precedes a frame on a packet
// socket is not a view here but one decoded type, gso.VnetHeader.
// checksum.go holds the Internet checksum (RFC 1071) and the TCP/UDP
// pseudo-header.
//
//	ip := header.IPv4(frame[off:])
//	if ip.IsValid() && ip.Protocol() == header.ProtoTCP {
//		tcp := header.TCP(ip[ip.HeaderLength():])
//		seq := tcp.SequenceNumber()
//	}
package header
