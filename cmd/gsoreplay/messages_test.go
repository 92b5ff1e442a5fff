package main

import (
	"path/filepath"
	"testing"
)

// TestRewriteMessages: the rewrite library's errors and warnings name its
// options; the CLI says them in its flags' words, exactly as it always
// has (the messages below are those of the CLI before the library stopped
// naming flags).
func TestRewriteMessages(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x")
	for _, tc := range []struct {
		args []string
		code int
		want string // the whole of standard error
	}{
		{[]string{"--enet-dmac", "00:11:22"}, 2, `gsoreplay: coalesce: --enet-dmac "00:11:22": "00:11:22" is not a MAC address (like 00:11:22:33:44:55)`},
		{[]string{"--enet-smac", "02:00:00:00:00:01,02:00:00:00:00:02,02:00:00:00:00:03"}, 2, `gsoreplay: coalesce: --enet-smac "02:00:00:00:00:01,02:00:00:00:00:02,02:00:00:00:00:03": at most two MAC addresses, comma separated`},
		{[]string{"--enet-dmac", ","}, 2, `gsoreplay: coalesce: --enet-dmac ",": no MAC address`},
		{[]string{"--pnat", "10.0.0.0/33:1.0.0.0/8"}, 2, `gsoreplay: coalesce: --pnat "10.0.0.0/33:1.0.0.0/8": "10.0.0.0/33": not a CIDR block (like 10.0.0.0/8 or [2001:db8::/32])`},
		{[]string{"--pnat", "10.0.0.0/8:1.0.0.0/8", "--pnat2", "10.0.0.0/8"}, 2, `gsoreplay: coalesce: --pnat2 "10.0.0.0/8": "10.0.0.0/8" is not FROM:TO`},
		{[]string{"--srcipmap", "10.0.0.0/8:[2001:db8::/32]"}, 2, `gsoreplay: coalesce: --srcipmap "10.0.0.0/8:[2001:db8::/32]": 10.0.0.0/8 and 2001:db8::/32: one IPv4, one IPv6`},
		{[]string{"--dstipmap", "x"}, 2, `gsoreplay: coalesce: --dstipmap "x": "x" is not FROM:TO`},
		{[]string{"--portmap", "80"}, 2, `gsoreplay: coalesce: --portmap "80": want FROM:TO pairs (80:8080, 8000-8999:80, 8000,8080:80)`},
		{[]string{"--portmap", "90-80:1"}, 2, `gsoreplay: coalesce: --portmap "90-80:1": "90-80": not a range LO-HI of ports`},
		{[]string{"--ttl", "+0"}, 2, `gsoreplay: coalesce: --ttl "+0": want N, +N or -N with N in 0..255`},
		{[]string{"--enet-vlan", "swap"}, 2, `gsoreplay: coalesce: --enet-vlan "swap": want add, del or edit`},
		{[]string{"--enet-vlan", "add"}, 2, `gsoreplay: coalesce: --enet-vlan-tag "": --enet-vlan add needs a tag`},
		{[]string{"--enet-vlan", "add", "--enet-vlan-tag", "5000"}, 2, `gsoreplay: coalesce: --enet-vlan-tag "5000": want 0..4095`},
		{[]string{"--enet-vlan", "edit", "--enet-vlan-pri", "9"}, 2, `gsoreplay: coalesce: --enet-vlan-pri "9": want 0..7`},
		{[]string{"--enet-vlan", "edit", "--enet-vlan-cfi", "2"}, 2, `gsoreplay: coalesce: --enet-vlan-cfi "2": want 0 or 1`},
		{[]string{"--pnat", "10.0.0.0/8:1.0.0.0/8", "--srcipmap", "10.0.0.0/8:2.0.0.0/8"}, 2, `gsoreplay: coalesce: --pnat "": cannot be combined with --srcipmap or --dstipmap (as in tcprewrite)`},
		{[]string{"--mtu-trunc", "--mtu", "40"}, 2, `gsoreplay: coalesce: --mtu "40": want 68..65535`},
		{[]string{"-q", "--pnat", "10.0.0.0/8:1.0.0.0/8", "--pnat2", "10.0.0.0/8:1.0.0.0/8,10.1.0.0/16:2.0.0.0/16", "--portmap", "80-90:1,85:2"}, 0,
			"gsoreplay coalesce: warning: --pnat: 10.0.0.0/8 and 10.1.0.0/16 overlap; the first listed wins\n" +
				"gsoreplay coalesce: warning: --portmap: 80-90 and 85-85 overlap; the first listed wins\n" +
				"gsoreplay coalesce: warning: --portmap matched no packet"},
		{[]string{"-q", "--srcipmap", "10.0.0.0/8:1.0.0.0/8,10.1.0.0/16:2.0.0.0/16", "--dstipmap", "10.99.0.0/16:3.0.0.0/16,10.99.0.0/24:4.0.0.0/24"}, 0,
			"gsoreplay coalesce: warning: --srcipmap: 10.0.0.0/8 and 10.1.0.0/16 overlap; the first listed wins\n" +
				"gsoreplay coalesce: warning: --dstipmap: 10.99.0.0/16 and 10.99.0.0/24 overlap; the first listed wins"},
	} {
		args := append(append([]string{"coalesce", "-o", out}, tc.args...), fixture)
		code, _, stderr := gsoreplay(t, nil, args...)
		if code != tc.code || stderr != tc.want+"\n" {
			t.Errorf("%v: exit %d, stderr\n%s\nwant exit %d and\n%s", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
