package rewrite_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
)

// TestOptionErrors: every error of the parsers and of Validate is a
// *coalesce.OptionError that names the field of Options and the value, in
// the library's words: no command-line flag ("--") in it.
func TestOptionErrors(t *testing.T) {
	keep := rewrite.Options{VLANTag: -1, VLANPri: -1, VLANCFI: -1}
	with := func(edit func(*rewrite.Options)) error {
		o := keep
		edit(&o)
		return o.Validate()
	}
	for _, tc := range []struct {
		name  string
		err   error
		field string
		value string
		want  string // in Want
	}{
		{"mac", func() error { _, err := rewrite.ParseMACs("SrcMAC", "00:11:22"); return err }(), "SrcMAC", `"00:11:22"`, "not a MAC address"},
		{"macs", func() error { _, err := rewrite.ParseMACs("DstMAC", "02:00:00:00:00:01,,"); return err }(), "DstMAC", `"02:00:00:00:00:01,,"`, "at most two"},
		{"no mac", func() error { _, err := rewrite.ParseMACs("DstMAC", ","); return err }(), "DstMAC", `","`, "no MAC"},
		{"cidr", func() error { _, err := rewrite.ParseCIDRMaps("DstIPMap", "10.0.0.0/33:1.2.3.0/24"); return err }(), "DstIPMap", `"10.0.0.0/33:1.2.3.0/24"`, "not a CIDR block"},
		{"families", func() error { _, err := rewrite.ParseCIDRMaps("PNAT", "10.0.0.0/8:[2001:db8::/32]"); return err }(), "PNAT", `"10.0.0.0/8:[2001:db8::/32]"`, "one IPv4, one IPv6"},
		{"port", func() error { _, err := rewrite.ParsePortMaps("80:0"); return err }(), "PortMap", `"80:0"`, "not a port"},
		{"ports", func() error { _, err := rewrite.ParsePortMaps("80"); return err }(), "PortMap", `"80"`, "FROM:TO"},
		{"ttl", func() error { _, _, err := rewrite.ParseTTL("+0"); return err }(), "TTL", `"+0"`, "N in 0..255"},
		{"vlan", func() error { _, err := rewrite.ParseVLANMode("swap"); return err }(), "VLAN", `"swap"`, "add, del or edit"},
		{"add without tag", with(func(o *rewrite.Options) { o.VLAN = rewrite.VLANAdd }), "VLANTag", "-1", "VLANAdd needs a tag"},
		{"tag", with(func(o *rewrite.Options) { o.VLAN, o.VLANTag = rewrite.VLANEdit, 4096 }), "VLANTag", "4096", "want 0..4095"},
		{"pri", with(func(o *rewrite.Options) { o.VLAN, o.VLANPri = rewrite.VLANEdit, 8 }), "VLANPri", "8", "want 0..7"},
		{"cfi", with(func(o *rewrite.Options) { o.VLAN, o.VLANCFI = rewrite.VLANEdit, 2 }), "VLANCFI", "2", "want 0 or 1"},
		{"mtu", with(func(o *rewrite.Options) { o.MTU, o.MTUTrunc = 67, true }), "MTU", "67", "want 68..65535"},
		{"mtu range", with(func(o *rewrite.Options) { o.MTU = 65536 }), "MTU", "65536", "want 68..65535"},
		{"pnat and map", with(func(o *rewrite.Options) {
			o.PNAT[0] = []rewrite.CIDRMap{{From: netip.MustParsePrefix("10.0.0.0/8"), To: netip.MustParsePrefix("11.0.0.0/8")}}
			o.SrcIPMap = []rewrite.CIDRMap{{From: netip.MustParsePrefix("10.0.0.0/8"), To: netip.MustParsePrefix("12.0.0.0/8")}}
		}), "PNAT", "[{10.0.0.0/8 11.0.0.0/8}]", "SrcIPMap or DstIPMap"},
	} {
		var oe *coalesce.OptionError
		if !errors.As(tc.err, &oe) {
			t.Errorf("%s: %v, want a *coalesce.OptionError", tc.name, tc.err)
			continue
		}
		if oe.Option != tc.field || oe.Value != tc.value || !strings.Contains(oe.Want, tc.want) {
			t.Errorf("%s: option %q value %s want %q; want option %q value %s and %q", tc.name, oe.Option, oe.Value, oe.Want, tc.field, tc.value, tc.want)
		}
		if msg := tc.err.Error(); strings.Contains(msg, "--") || !strings.HasPrefix(msg, tc.field+" "+tc.value+": ") {
			t.Errorf("%s: %q names a flag or not the field and value", tc.name, msg)
		}
	}
	if err := keep.Validate(); err != nil {
		t.Errorf("no edits: %v", err)
	}
}

// TestWarningsNameFields: Warnings name the field whose maps overlap.
func TestWarningsNameFields(t *testing.T) {
	var o rewrite.Options
	var err error
	if o.PNAT[1], err = rewrite.ParseCIDRMaps("PNAT", "10.0.0.0/8:11.0.0.0/8,10.1.0.0/16:12.0.0.0/16"); err != nil {
		t.Fatal(err)
	}
	o.PNAT[0] = o.PNAT[1][:1]
	if o.DstIPMap, err = rewrite.ParseCIDRMaps("DstIPMap", "[2001:db8::/32]:[fd00::/16],[2001:db8:1::/48]:[fd01::/16]"); err != nil {
		t.Fatal(err)
	}
	if o.PortMap, err = rewrite.ParsePortMaps("80-90:1,85:2,100:3"); err != nil {
		t.Fatal(err)
	}
	want := []rewrite.Warning{
		{"PNAT", "10.0.0.0/8 and 10.1.0.0/16 overlap; the first listed wins"},
		{"DstIPMap", "2001:db8::/32 and 2001:db8:1::/48 overlap; the first listed wins"},
		{"PortMap", "80-90 and 85-85 overlap; the first listed wins"},
	}
	got := o.Warnings()
	if len(got) != len(want) {
		t.Fatalf("warnings %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("warning %d: %q, want %q", i, got[i], want[i])
		}
	}
}
