// Package rewrite edits frames on their way to the wire as tcprewrite does,
// with tcprewrite's option names and syntax, so that command lines carry
// over: destination and source MACs (one, or one per direction), IPv4 and
// IPv6 address maps (--pnat, --srcipmap, --dstipmap), port maps, TTL/hop
// limit, 802.1Q tags (add, del, edit) and checksum fixing.
//
// A Rewriter works on one frame (Frame) or on one coalescer record
// (Record): a frame passed through is edited as tcprewrite edits a packet —
// addresses with incremental checksum updates (RFC 1624), and a full
// recomputation of the checksums when a TTL or a port changed or --fixcsum
// asks; a super-packet is edited once, its headers only, and its IPv4
// header checksum and pseudo-header seed made anew, so that the kernel's
// segments are what tcprewrite would write for each original frame. Merge
// decisions stay with the original frames.
//
// Directions: tcprewrite's first MAC of a pair (and first --pnat list) is
// for the primary side, client to server; without a split every packet is
// primary, as tcprewrite without a cache file has it.
package rewrite
