package pcaps

import (
	"os"

	"golang.org/x/sys/unix"
)

// fadvise tells the kernel a capture file is read once, front to back:
// more read-ahead, and no bookkeeping of its pages as reused
// (folio_mark_accessed: a measurable part of a streaming replay's CPU; see
// bench/NOTES.md). It returns the first error of the two calls.
func fadvise(f *os.File) error {
	fd := int(f.Fd())
	err := unix.Fadvise(fd, 0, 0, unix.FADV_SEQUENTIAL)
	if err2 := unix.Fadvise(fd, 0, 0, unix.FADV_NOREUSE); err == nil {
		err = err2
	}
	return err
}
