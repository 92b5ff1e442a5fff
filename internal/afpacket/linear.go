package afpacket

// An AF_PACKET socket with PACKET_VNET_HDR builds each frame it is given as
// an skb whose linear part holds the virtio header's hdr_len bytes and whose
// pages hold the rest (packet_snd → packet_alloc_skb → alloc_skb_with_frags).
// The pages are allocated in chunks of at most 32 KiB
// (PAGE_ALLOC_COSTLY_ORDER), the last one cut to the next power of two
// below what is left, one fragment each, and an skb has MAX_SKB_FRAGS (17)
// fragments; kernels before the fix of alloc_skb_with_frags (Jason Baron,
// 2025, "Fixes: 09c2c90705bb") use one fewer. A super-packet above 64 KiB
// (BIG TCP) can therefore be refused with ENOBUFS for its size alone: on
// Linux 6.18 a TCPv4 frame of 358 segments of 1448 bytes (15 chunks and a
// tail of 7 pages: 18 fragments) is, one of 360 is not. Above 17 chunks
// packet_alloc_skb moves the excess to the linear part itself.
const (
	chunk     = 32 << 10 // PAGE_SIZE << PAGE_ALLOC_COSTLY_ORDER
	fragsSafe = 16       // MAX_SKB_FRAGS - 1: what every kernel gives
)

// Linear returns the hdr_len to put in the virtio header of a frame of
// frameLen bytes whose headers are hdrLen bytes long, so that any kernel
// can allocate it: hdrLen itself unless the paged rest would need more
// than 16 fragments, else hdrLen grown so that the paged part is whole
// chunks, at most 16 of them. The kernel copies the linear part as it
// copies the rest; segmentation does not read hdr_len. A frame the field
// cannot describe (a linear part above 65535 bytes) keeps hdrLen.
func Linear(frameLen, hdrLen int) int {
	paged := frameLen - hdrLen
	if paged <= 0 || frags(paged) <= fragsSafe {
		return hdrLen
	}
	whole := min(paged/chunk, fragsSafe) * chunk
	if l := frameLen - whole; l <= 0xffff {
		return l
	}
	return hdrLen
}

// frags is how many page fragments alloc_skb_with_frags takes for n bytes:
// whole chunks, then the tail in pages of descending powers of two.
func frags(n int) int {
	const page = 4096
	k := n / chunk
	for tail := (n%chunk + page - 1) / page; tail > 0; tail &= tail - 1 {
		k++
	}
	return k
}
