//go:build !linux

package pcaps

import "os"

// advise does nothing where there is no posix_fadvise to call.
func advise(*os.File) {}
