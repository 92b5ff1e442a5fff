//go:build !linux

package pcaps

import "os"

// fadvise does nothing where there is no posix_fadvise to call.
func fadvise(*os.File) error { return nil }
