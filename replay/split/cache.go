package split

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Side is where a packet leaves: Primary (-i) or Secondary (-I).
type Side uint8

const (
	Primary Side = iota
	Secondary
)

// Splitter gives each packet its side; send is false for a packet the
// split leaves out (a tcpprep cache can).
type Splitter interface {
	Side(p *pcaps.Packet, record int64) (side Side, send bool)
}

// Cache is a tcpprep cache file: two bits a packet, the capture's packet
// count in its header.
type Cache struct {
	Packets int64
	Comment string
	data    []byte
}

// Errors of ReadCache.
var (
	ErrNotCache     = errors.New("not a tcpprep cache file")
	ErrCacheVersion = errors.New("tcpprep cache file version not supported (want 04)")
)

// MaxCachePackets bounds the packet count a cache file may claim.
const MaxCachePackets = 1 << 36

// ReadCacheFile reads a tcpprep cache file.
func ReadCacheFile(path string) (*Cache, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ReadCache(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ReadCache reads a cache: the header ("tcpprep\0", version "04",
// big-endian packet count, packets per byte, comment length), the comment,
// then 2 bits a packet, 4 packets a byte.
func ReadCache(r io.Reader) (*Cache, error) {
	var h [24]byte
	if n, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("%d bytes of a 24-byte header: %w", n, ErrNotCache)
	}
	if string(h[:8]) != "tcpprep\x00" {
		return nil, fmt.Errorf("magic %q: %w", h[:8], ErrNotCache)
	}
	if v := string(h[8:10]); v != "04" {
		return nil, fmt.Errorf("version %q: %w", v, ErrCacheVersion)
	}
	c := &Cache{Packets: int64(binary.BigEndian.Uint64(h[12:20]))}
	if ppb := binary.BigEndian.Uint16(h[20:22]); ppb != 4 {
		return nil, fmt.Errorf("%d packets a byte, want 4: %w", ppb, ErrNotCache)
	}
	if c.Packets < 0 || c.Packets > MaxCachePackets {
		return nil, fmt.Errorf("packet count %d: %w", c.Packets, ErrNotCache)
	}
	comment := make([]byte, binary.BigEndian.Uint16(h[22:24]))
	if _, err := io.ReadFull(r, comment); err != nil {
		return nil, fmt.Errorf("comment: %w", ErrNotCache)
	}
	c.Comment = string(comment)
	want := (c.Packets + 3) / 4
	// Read as the bytes come, so that a lying count costs no memory.
	var buf [64 << 10]byte
	for int64(len(c.data)) < want {
		n, err := r.Read(buf[:min(int64(len(buf)), want-int64(len(c.data)))])
		c.data = append(c.data, buf[:n]...)
		if err != nil {
			break
		}
	}
	if int64(len(c.data)) < want {
		return nil, fmt.Errorf("%d of %d data bytes for %d packets: %w", len(c.data), want, c.Packets, ErrNotCache)
	}
	return c, nil
}

// Side answers for the record-th packet of the capture (from 1), as
// tcpreplay's check_cache: the upper bit of the pair says send, the lower
// primary.
func (c *Cache) Side(_ *pcaps.Packet, record int64) (Side, bool) {
	if record < 1 || record > c.Packets {
		return Primary, false
	}
	b := c.data[(record-1)/4]
	bit := uint((record-1)%4) * 2
	if b&(1<<(bit+1)) == 0 {
		return Primary, false
	}
	if b&(1<<bit) != 0 {
		return Primary, true
	}
	return Secondary, true
}
