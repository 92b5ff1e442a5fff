package hugemem

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestArena(t *testing.T) {
	a := NewArena(4 << 20)
	defer a.Free()
	var bufs [][]byte
	for i := range 100 {
		b := a.Alloc(100_000)
		if len(b) != 100_000 || cap(b) != 100_000 {
			t.Fatalf("alloc %d: len %d cap %d", i, len(b), cap(b))
		}
		for j := range b {
			b[j] = byte(i)
		}
		bufs = append(bufs, b)
	}
	for i, b := range bufs { // no two slices overlap
		if b[0] != byte(i) || b[len(b)-1] != byte(i) {
			t.Fatalf("slice %d overwritten", i)
		}
	}
	big := a.Alloc(10 << 20) // above the chunk size: a chunk of its own
	big[len(big)-1] = 1
	total, huge := a.Mapped()
	if a.Bytes() != 100*100_000+10<<20 || total < a.Bytes() {
		t.Errorf("bytes %d, mapped %d", a.Bytes(), total)
	}
	if Available() && huge != total {
		t.Errorf("THP available but %d of %d bytes advised", huge, total)
	}
}

// TestHugePagesBack: with THP in madvise or always mode, touched arena
// memory is backed by huge pages (AnonHugePages grows in smaps_rollup).
func TestHugePagesBack(t *testing.T) {
	if runtime.GOOS != "linux" || !Available() {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but transparent huge pages are off (/sys/kernel/mm/transparent_hugepage/enabled)")
		}
		t.Skip("no transparent huge pages on this system")
	}
	before := anonHuge(t)
	a := NewArena(0)
	defer a.Free()
	b := a.Alloc(DefaultChunk)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	if got := anonHuge(t) - before; got < DefaultChunk/2 {
		t.Errorf("AnonHugePages grew by %d KiB for a %d MiB arena", got>>10, DefaultChunk>>20)
	}
}

func anonHuge(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "AnonHugePages:" {
			var kb int64
			for _, c := range f[1] {
				kb = kb*10 + int64(c-'0')
			}
			return kb << 10
		}
	}
	t.Fatal("no AnonHugePages in smaps_rollup")
	return 0
}
