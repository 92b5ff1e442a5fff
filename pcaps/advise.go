package pcaps

import "os"

// advise gives the kernel the read advice for a capture file Open opened
// (fadvise): advice only, which a file may refuse (a pipe, a file system
// without it) with nothing else changed, so its error is not one of
// Open's. A variable, so that a test sees which files get it.
var advise = func(f *os.File) { _ = fadvise(f) }
