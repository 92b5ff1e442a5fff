//go:build !linux

package hugemem

// Available reports whether huge pages can back the arena: not on this
// system, where it uses ordinary memory.
func Available() bool { return false }

func alloc(n int) ([]byte, bool) { return make([]byte, n), false }

func release([]byte) {}
