package afpacket

import "testing"

// allocFrags walks alloc_skb_with_frags as the kernel writes it (each
// chunk the largest power-of-two run of pages, up to 8, that does not
// exceed what is left rounded up to pages) and counts its fragments: the
// oracle for frags and for what Linear leaves in the pages.
func allocFrags(n int) int {
	const page = 4096
	k := 0
	for order := 3; n > 0; k++ {
		for order > 0 && (n+page-1)/page*page < page<<order {
			order--
		}
		n -= min(n, page<<order)
	}
	return k
}

func TestLinear(t *testing.T) {
	const v4 = 14 + 20 + 32 // Ethernet, IPv4, TCP with timestamps
	const v6 = 14 + 40 + 32
	for _, tc := range []struct {
		name          string
		frame, hdr    int
		want          int // hdr_len, -1: grown (checked below)
		wantUnchanged bool
	}{
		{"a 64 KiB super-packet", v4 + 45*1448, v4, v4, true},
		{"128 KiB", v4 + 91*1448, v4, v4, true},
		{"tcpv4 358 segments: 18 fragments", v4 + 358*1448, v4, -1, false},
		{"tcpv4 360 segments: 16", v4 + 360*1448, v4, v4, true},
		{"tcpv6 362 segments: 18", v6 + 362*1428, v6, -1, false},
		{"tcpv4 368 segments: 16 chunks and a tail of 3 pages", v4 + 368*1448, v4, -1, false},
		{"1 MiB: the linear part would pass 65535", v4 + 724*1448, v4, v4, true},
		{"a frame of headers only", v4, v4, v4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Linear(tc.frame, tc.hdr)
			if tc.wantUnchanged {
				if got != tc.want {
					t.Fatalf("Linear(%d, %d) = %d, want %d", tc.frame, tc.hdr, got, tc.want)
				}
				return
			}
			if got < tc.hdr || got > 0xffff || got > tc.frame {
				t.Fatalf("Linear(%d, %d) = %d: not a hdr_len for this frame", tc.frame, tc.hdr, got)
			}
			if n := allocFrags(tc.frame - got); n > fragsSafe {
				t.Fatalf("Linear(%d, %d) = %d leaves %d bytes in %d fragments, more than %d", tc.frame, tc.hdr, got, tc.frame-got, n, fragsSafe)
			}
			if allocFrags(tc.frame-tc.hdr) <= fragsSafe {
				t.Fatalf("the case needs no growing: %d fragments", allocFrags(tc.frame-tc.hdr))
			}
		})
	}
}

// TestFrags: frags agrees with the kernel's walk for every size up to
// 17 chunks, page by page and around each page boundary.
func TestFrags(t *testing.T) {
	for n := 1; n <= 17*chunk; n += 509 {
		if got, want := frags(n), allocFrags(n); got != want {
			t.Fatalf("frags(%d) = %d, the kernel's walk %d", n, got, want)
		}
	}
}
