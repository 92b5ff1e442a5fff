package pcaps

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestOpenAdvises: every file Open and OpenOptions.Open open gets the read
// advice, Wrap is handed the file and its size and is what the Reader
// reads, and Close closes the file; standard input gets neither advice nor
// a Close.
func TestOpenAdvises(t *testing.T) {
	frame := bytes.Repeat([]byte{0xab}, 60)
	data := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, frame, frame)
	path := filepath.Join(t.TempDir(), "two.pcap")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var advised []*os.File
	old := advise
	advise = func(f *os.File) { advised = append(advised, f) }
	defer func() { advise = old }()

	type wrapped struct {
		called bool
		size   int64
		read   int64
	}
	for _, tc := range []struct {
		name string
		open func(w *wrapped) (*Reader, error)
		wrap bool
	}{
		{"Open", func(*wrapped) (*Reader, error) { return Open(path) }, false},
		{"OpenOptions{}", func(*wrapped) (*Reader, error) { return OpenOptions{}.Open(path) }, false},
		{"OpenOptions{Wrap}", func(w *wrapped) (*Reader, error) {
			return OpenOptions{Wrap: func(r io.Reader, size int64) io.Reader {
				w.called, w.size = true, size
				return &countingReader{r: r, n: &w.read}
			}}.Open(path)
		}, true},
	} {
		advised = nil
		var w wrapped
		r, err := tc.open(&w)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(advised) != 1 || advised[0].Name() != path {
			t.Errorf("%s: advised %v, want the file %s once", tc.name, advised, path)
		}
		n := 0
		if err := r.Each(func(*Packet) error { n++; return nil }); err != nil || n != 2 {
			t.Errorf("%s: %d packets, %v; want 2", tc.name, n, err)
		}
		if tc.wrap && (!w.called || w.size != int64(len(data)) || w.read != int64(len(data))) {
			t.Errorf("%s: Wrap called %v with size %d, %d bytes read through it; want size and bytes read %d", tc.name, w.called, w.size, w.read, len(data))
		}
		if r.Name() != path {
			t.Errorf("%s: name %q", tc.name, r.Name())
		}
		if err := r.Close(); err != nil {
			t.Errorf("%s: close: %v", tc.name, err)
		}
		if len(advised) == 1 {
			if _, err := advised[0].Stat(); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("%s: after Close the file is still open (%v)", tc.name, err)
			}
		}
	}

	// Errors are os.Open's and NewReader's, and a file that is no capture
	// is closed all the same.
	advised = nil
	if _, err := Open(filepath.Join(t.TempDir(), "missing.pcap")); !errors.Is(err, fs.ErrNotExist) || len(advised) != 0 {
		t.Errorf("missing file: %v, advised %d", err, len(advised))
	}
	text := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(text, []byte("not a capture at all"), 0o644)
	if _, err := (OpenOptions{Wrap: func(r io.Reader, _ int64) io.Reader { return r }}).Open(text); !errors.Is(err, ErrNotCapture) {
		t.Errorf("text: %v", err)
	} else if _, err := advised[0].Stat(); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("text: the file is left open (%v)", err)
	}

	// Standard input: named stdin, not advised, its size given to Wrap
	// when it is a regular file, and not closed by Close.
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	oldIn := os.Stdin
	os.Stdin = in
	defer func() { os.Stdin = oldIn }()
	advised = nil
	size := int64(0)
	r, err := OpenOptions{Wrap: func(r io.Reader, n int64) io.Reader { size = n; return r }}.Open("-")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != "stdin" || len(advised) != 0 || size != int64(len(data)) {
		t.Errorf("stdin: name %q, advised %d, size %d", r.Name(), len(advised), size)
	}
	if err := r.Close(); err != nil {
		t.Errorf("stdin close: %v", err)
	}
	if _, err := in.Stat(); err != nil {
		t.Errorf("Close closed standard input: %v", err)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}
