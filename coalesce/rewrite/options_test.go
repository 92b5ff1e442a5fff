package rewrite

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"mac", func() error { _, err := ParseMACs("DstMAC", "00:11:22:33:44"); return err }()},
		{"3 macs", func() error {
			_, err := ParseMACs("DstMAC", "00:11:22:33:44:55,00:11:22:33:44:56,00:11:22:33:44:57")
			return err
		}()},
		{"cidr", func() error { _, err := ParseCIDRMaps("PNAT", "10.0.0.0/33:1.2.3.0/24"); return err }()},
		{"no to", func() error { _, err := ParseCIDRMaps("PNAT", "10.0.0.0/8"); return err }()},
		{"families", func() error { _, err := ParseCIDRMaps("PNAT", "10.0.0.0/8:[2001:db8::/32]"); return err }()},
		{"port", func() error { _, err := ParsePortMaps("80:0"); return err }()},
		{"range", func() error { _, err := ParsePortMaps("90-80:1"); return err }()},
		{"dangling", func() error { _, err := ParsePortMaps("80:81,82"); return err }()},
		{"ttl", func() error { _, _, err := ParseTTL("+0"); return err }()},
		{"ttl range", func() error { _, _, err := ParseTTL("256"); return err }()},
		{"vlan", func() error { _, err := ParseVLANMode("swap"); return err }()},
		{"vlan tag", (&Options{VLAN: VLANAdd, VLANTag: -1}).Validate()},
		{"pnat and map", (&Options{PNAT: [2][]CIDRMap{{{}}}, SrcIPMap: []CIDRMap{{}}, VLANTag: -1}).Validate()},
	} {
		var fe *coalesce.OptionError
		if !errors.As(tc.err, &fe) || strings.Contains(tc.err.Error(), "\n") {
			t.Errorf("%s: %v, want a one-line OptionError", tc.name, tc.err)
		}
	}
}

func TestParse(t *testing.T) {
	m, err := ParseMACs("DstMAC", ",02:00:00:00:00:02")
	if err != nil || m[0].Set || !m[1].Set || m[1].Addr[5] != 2 {
		t.Fatalf("%v %v", m, err)
	}
	maps, err := ParseCIDRMaps("PNAT", "10.0.0.0/8:192.168.0.0/16,[2001:db8::/32]:[fd00::/16],192.0.2.1:198.51.100.7")
	if err != nil || len(maps) != 3 || maps[1].To != netip.MustParsePrefix("fd00::/16") || maps[2].From.Bits() != 32 {
		t.Fatalf("%v %v", maps, err)
	}
	ports, err := ParsePortMaps("8000,8080:80,9000-9009:9")
	if err != nil || len(ports) != 3 || ports[1] != (PortMap{8080, 8080, 80}) || ports[2] != (PortMap{9000, 9009, 9}) {
		t.Fatalf("%v %v", ports, err)
	}
	if mode, v, err := ParseTTL("-64"); err != nil || mode != TTLSub || v != 64 {
		t.Fatalf("ttl: %v %v %v", mode, v, err)
	}
	o := Options{SrcIPMap: maps[:1], DstIPMap: []CIDRMap{maps[0], {From: netip.MustParsePrefix("10.1.0.0/16")}}}
	if w := o.Warnings(); len(w) != 1 || !strings.Contains(w[0].String(), "overlap") {
		t.Fatalf("warnings %q", w)
	}
}

// TestMapAddr: host bits stay, network bits come from the target, for
// prefixes on and off byte boundaries (tcprewrite's IPv6 remap garbles the
// latter; this is the expectation computed by hand).
func TestMapAddr(t *testing.T) {
	for _, tc := range []struct{ from, to, in, want string }{
		{"10.0.0.0/8", "192.168.0.0/16", "10.1.2.3", "192.168.2.3"},
		{"10.0.0.0/8", "172.16.0.0/12", "10.255.2.3", "172.31.2.3"},
		{"2001:db8::/32", "fd00::/16", "2001:db8::1:2", "fd00:db8::1:2"},
		{"2001:db8::/32", "fd00:ab00::/20", "2001:db8:ffff::9", "fd00:adb8:ffff::9"},
	} {
		got := netip.MustParseAddr(tc.in).AsSlice()
		ok := mapAddr(compile([]CIDRMap{{netip.MustParsePrefix(tc.from), netip.MustParsePrefix(tc.to)}}), got)
		ga, _ := netip.AddrFromSlice(got)
		if !ok || ga != netip.MustParseAddr(tc.want) {
			t.Errorf("%s -> %s: %s gives %v, want %s", tc.from, tc.to, tc.in, ga, tc.want)
		}
	}
}
