// Package hugemem hands out memory the kernel copies from fast.
//
// On the machines gsoreplay is measured on (paravirtualized guests), the
// kernel's copy of a send buffer out of user memory (_copy_from_iter) is
// several times slower from large buffers of 4 KiB pages than from
// transparent huge pages or from small buffers that stay hot in the cache
// (measured; see bench/NOTES.md), and that decides how fast a preloaded
// capture can be replayed. An Arena allocates from anonymous mappings
// advised with MADV_HUGEPAGE (transparent huge pages in "madvise" or
// "always" mode), and falls back to ordinary memory where there are none, so
// that it works everywhere and is fast where it can be.
//
//	a := hugemem.NewArena(0)
//	defer a.Free()
//	buf := a.Alloc(len(frame))
//	copy(buf, frame) // the kernel reads buf from huge pages when sending
package hugemem
