package coalesce

import (
	"encoding/binary"
	"math/rand"
	"testing"
)

// slowSum is RFC 1071 word by word, the reference for the fast path.
func slowSum(b []byte) uint16 {
	var acc uint64
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint64(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		acc += uint64(b[len(b)-1]) << 8
	}
	return fold(acc)
}

func TestChecksumFastPath(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 3000; n += 1 + n/50 {
		for range 5 {
			b := make([]byte, n)
			rng.Read(b)
			if rng.Intn(4) == 0 {
				for i := range b {
					b[i] = 0xff // carries everywhere
				}
			}
			if got, want := fold(sum(b, 0)), slowSum(b); got != want {
				t.Fatalf("n=%d: sum %#x, want %#x", n, got, want)
			}
		}
	}
}
