package pcaps

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFadviseAccepted: the kernel takes both pieces of advice for a file
// (advise drops the error, so a call the kernel refused would go unseen).
func TestFadviseAccepted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.pcap")
	if err := os.WriteFile(path, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := fadvise(f); err != nil {
		t.Fatalf("posix_fadvise: %v", err)
	}
}
