// Package replay sends captures through the kernel as GSO super-packets and
// proves that what leaves equals the original trace.
//
// A Source turns a capture into Items: super-packets with their virtio
// header (coalesced on the fly from a raw capture, read from a coalesced
// pcapng, or built from the oversized frames of a TSO/GRO host) and the
// frames passed through. A Schedule decides when each Item is due (original
// timing anchored to the first packet, a multiplier, packets or megabits per
// second, or top speed). On Linux a Sender writes them to an AF_PACKET
// socket with PACKET_VNET_HDR in sendmmsg batches, so that the kernel — or
// the NIC — segments them.
//
// Verification builds a private Lab (two network namespaces and a veth pair,
// sender offloads off), captures every frame that leaves without loss on a
// TPACKET_V3 ring, and Compare classifies every packet against the frames
// the reference segmenter says must come out: exact, normalized, mismatched
// (with the first differing fields named), missing or extra, with the drops
// every counter saw.
package replay
