package hugemem

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on x86-64 and arm64
// (4 KiB base pages).
const hugePage = 2 << 20

// Available reports whether transparent huge pages can back an advised
// mapping: the kernel's mode is "always" or "madvise".
func Available() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil && !strings.Contains(string(b), "[never]")
}

// alloc maps at least n bytes (whole huge pages) and advises huge pages;
// without them it still maps, and the kernel uses small pages. Where no
// mapping can be made it falls back to the Go heap.
func alloc(n int) ([]byte, bool) {
	size := (n + hugePage - 1) &^ (hugePage - 1)
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return make([]byte, n), false
	}
	return b, Available() && unix.Madvise(b, unix.MADV_HUGEPAGE) == nil
}

// release unmaps a chunk from alloc; a Go heap fallback is not a mapping
// (Munmap refuses it) and is left to the collector.
func release(b []byte) { _ = unix.Munmap(b) }
