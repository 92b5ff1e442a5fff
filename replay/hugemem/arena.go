package hugemem

// DefaultChunk is the mapping size an Arena grows by: 64 MiB, 32 huge pages.
const DefaultChunk = 64 << 20

// Arena allocates byte slices from large chunks of huge-page-backed memory
// (see the package doc). Slices live until Free; there is no per-slice free.
// An Arena is not safe for concurrent use.
type Arena struct {
	chunk  int
	cur    []byte // the unused rest of the newest chunk
	chunks [][]byte
	huge   []bool // chunks[i] is advised huge pages
	bytes  int64
}

// NewArena returns an arena growing by chunk bytes (DefaultChunk if 0).
func NewArena(chunk int) *Arena {
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	return &Arena{chunk: chunk}
}

// Alloc returns n bytes (len and cap n), zeroed.
func (a *Arena) Alloc(n int) []byte {
	if n > len(a.cur) {
		size := max(a.chunk, n)
		b, huge := alloc(size)
		a.chunks = append(a.chunks, b)
		a.huge = append(a.huge, huge)
		a.cur = b
	}
	b := a.cur[:n:n]
	a.cur = a.cur[n:]
	a.bytes += int64(n)
	return b
}

// Bytes is what Alloc handed out so far.
func (a *Arena) Bytes() int64 { return a.bytes }

// Mapped is the memory the arena holds, and how much of it is backed by
// huge pages (as advised: the kernel may still fall back to small pages).
func (a *Arena) Mapped() (total, huge int64) {
	for i, c := range a.chunks {
		total += int64(len(c))
		if a.huge[i] {
			huge += int64(len(c))
		}
	}
	return total, huge
}

// Free releases every chunk; slices from Alloc must not be used after it.
func (a *Arena) Free() {
	for _, c := range a.chunks {
		release(c)
	}
	a.chunks, a.cur, a.huge, a.bytes = nil, nil, nil, 0
}
