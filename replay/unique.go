package replay

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// Unique addresses for every loop (tcpreplay's --unique-ip): from the
// second pass on, each packet's source and destination addresses (IPv4,
// or the last 32 bits of IPv6's) move k apart, one down and one up, so
// that a stateful device under test sees new flows, and their sum — hence
// every checksum over them — stays as it was: super-packets need no new
// seed and the kernel's segments stay right. The arithmetic is tcpreplay
// 4.6's (fast_edit_packet), its wrap-around compensation included, so
// that the addresses of every loop are the ones tcpreplay would send.

// uniqueLoop says whether pass loop (1 for the first) of a replay edits
// the addresses, and by how much (tcpreplay's increment_iteration: a new
// shift every loops passes).
func uniqueLoop(loop int, loops float64) (edit bool, k uint64) {
	unique, last := uniqueIteration(loop-1, loops), uint64(0)
	if loop >= 3 {
		last = uniqueIteration(loop-2, loops)
	}
	return unique > 0 && unique > last, unique - 1
}

// uniqueIteration is tcpreplay's unique_iteration after i passes: 0 before
// the first, then one more every loops passes.
func uniqueIteration(i int, loops float64) uint64 {
	if i <= 0 {
		return 0
	}
	return uint64(i)*1000/uint64(loops*1000) + 1
}

// uniqueIPs edits the Ethernet frame's first IP header for a loop that
// edits with shift k. cached is a preloaded frame, edited already by the
// loops before (tcpreplay's cached packets): it moves by one each time.
// Frames that are not IP are left as they are (tcpreplay drops them).
func uniqueIPs(frame []byte, k uint64, cached bool) {
	l3, etype, st := header.Network(frame, layers.LinkTypeEthernet)
	if st != header.LinkOK {
		return
	}
	var src, dst []byte
	switch {
	case etype == header.EtherTypeIPv4 && len(frame) >= l3+header.IPv4MinimumSize:
		ip := header.IPv4(frame[l3:])
		src, dst = ip.Source(), ip.Destination()
	case etype == header.EtherTypeIPv6 && len(frame) >= l3+header.IPv6MinimumSize:
		ip := header.IPv6(frame[l3:])
		src, dst = ip.Source()[12:], ip.Destination()[12:]
	default:
		return
	}
	s, d := uniqueShift(binary.BigEndian.Uint32(src), binary.BigEndian.Uint32(dst), k, cached)
	binary.BigEndian.PutUint32(src, s)
	binary.BigEndian.PutUint32(dst, d)
}

// uniqueShift moves addresses s and d apart for a loop with shift k.
func uniqueShift(s, d uint32, k uint64, cached bool) (uint32, uint32) {
	so, do := s, d
	if (!cached && d > s) || (cached && uint64(d)-k > uint64(s)-1-k) {
		if cached {
			s, d = s-1, d+1
		} else {
			s, d = s-uint32(k), d+uint32(k)
		}
		if s > so && d > do {
			s--
		} else if d < do && s < so {
			d++
		}
	} else {
		if cached {
			s, d = s+1, d-1
		} else {
			s, d = s+uint32(k), d-uint32(k)
		}
		if d > do && s > so {
			d--
		} else if s < so && d < do {
			s++
		}
	}
	return s, d
}
