package replay

import (
	"testing"

	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/pcaps/header"
)

// TestUniqueLoop: the loops tcpreplay 4.6 edits and their shifts, worked
// out by hand from its increment_iteration (unique_iteration =
// iteration*1000/(loops*1000) + 1 after each pass; an edit when it grew,
// by unique_iteration - 1).
func TestUniqueLoop(t *testing.T) {
	type edit struct {
		on bool
		k  uint64
	}
	for _, c := range []struct {
		loops float64
		want  []edit // passes 1, 2, ...
	}{
		{1, []edit{{false, 0}, {true, 1}, {true, 2}, {true, 3}}},
		{2, []edit{{false, 0}, {true, 0}, {true, 1}, {false, 1}, {true, 2}, {false, 2}}},
		{3, []edit{{false, 0}, {true, 0}, {false, 0}, {true, 1}, {false, 1}, {false, 1}, {true, 2}}},
	} {
		for i, w := range c.want {
			on, k := uniqueLoop(i+1, c.loops)
			if on != w.on || (on && k != w.k) {
				t.Errorf("every %v loops, pass %d: edit %v by %d, want %v by %d", c.loops, i+1, on, k, w.on, w.k)
			}
		}
	}
}

// TestUniqueIPsChecksums: the edit moves source and destination apart and
// leaves their sum, so the IPv4 header checksum and the TCP checksum the
// craft builder computed stay right.
func TestUniqueIPsChecksums(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		p := craft.TCPBulk()
		p.V6 = v6
		f := p.Bytes()
		orig := append([]byte(nil), f...)
		uniqueIPs(f, 5, false)
		if string(f) == string(orig) {
			t.Fatalf("v6 %v: nothing edited", v6)
		}
		l3 := header.EthernetSize
		var ok bool
		if v6 {
			ip := header.IPv6(f[l3:])
			ok = header.Fold(header.PseudoHeaderSum(ip.Addresses(), header.ProtoTCP, uint32(len(f)-l3-40))) ==
				header.Fold(header.PseudoHeaderSum(header.IPv6(orig[l3:]).Addresses(), header.ProtoTCP, uint32(len(f)-l3-40)))
		} else {
			ok = header.IPv4(f[l3:]).IsChecksumValid() &&
				header.Fold(header.PseudoHeaderSum(header.IPv4(f[l3:]).Addresses(), header.ProtoTCP, 0)) ==
					header.Fold(header.PseudoHeaderSum(header.IPv4(orig[l3:]).Addresses(), header.ProtoTCP, 0))
		}
		if !ok {
			t.Errorf("v6 %v: the checksums' sums changed", v6)
		}
	}
}
