package pcaps

import (
	"os"

	"golang.org/x/sys/unix"
)

// advise tells the kernel a capture file is read once, front to back:
// more read-ahead, and no bookkeeping of its pages as reused
// (folio_mark_accessed: a measurable part of a streaming replay's CPU; see
// bench/NOTES.md). Advice only: an error changes nothing.
func advise(f *os.File) {
	fd := int(f.Fd())
	_ = unix.Fadvise(fd, 0, 0, unix.FADV_SEQUENTIAL)
	_ = unix.Fadvise(fd, 0, 0, unix.FADV_NOREUSE)
}
