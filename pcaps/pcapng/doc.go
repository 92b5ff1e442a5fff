// Package pcapng reads pcapng files block by block, as they are written, so
// that a tool can give back every block, option and byte it does not change.
//
// gopacket's pcapgo reads the packets of a pcapng file and the options it
// knows; it does not say where a block began, which options it skipped, or
// what the padding held. Writing a file back from that loses the section's
// hardware and application, an interface's resolution, name resolution,
// statistics and decryption secrets, custom blocks and packet options. This
// package keeps the bytes: a Block is one whole block as it lies in the file
// (type, length, body, length), in its section's byte order, with typed views
// over it (SectionHeader, InterfaceDescription, EnhancedPacket, SimplePacket,
// ObsoletePacket) and an iterator over options (Options). Reader reads blocks
// from a stream with a bounded buffer; Insert and Remove edit a block's first
// option; Resolution converts an interface's timestamps to nanoseconds and
// back, and says when that is exact.
//
// The format: draft-ietf-opsawg-pcapng (IETF OPSAWG), blocks 32-bit aligned,
// every block framed by its total length at both ends.
package pcapng
