package pcaps

import (
	"os"

	"golang.org/x/sys/unix"
)

// fadvise tells the kernel a capture file is read once, front to back:
// more read-ahead, and no bookkeeping of its pages as reused (on Linux
// 6.18 that bookkeeping, folio_mark_accessed, cost a streaming replay
// about 40 ms of its 0.55 s of CPU a pass over an 813 MB capture). It
// returns the first error of the two calls.
func fadvise(f *os.File) error {
	fd := int(f.Fd())
	err := unix.Fadvise(fd, 0, 0, unix.FADV_SEQUENTIAL)
	if err2 := unix.Fadvise(fd, 0, 0, unix.FADV_NOREUSE); err == nil {
		err = err2
	}
	return err
}
