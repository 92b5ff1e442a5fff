package main

import (
	"testing"
)

// TestParsedFlagMessages: --cpus and --split, parsed by the library
// (replay.ParseCPUs, split.Parse), are refused in the words the CLI has
// always used (before their parsers left cmd/).
func TestParsedFlagMessages(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // the whole of standard error
	}{
		{[]string{"replay", "-i", "lo", "--cpus", "1-x", "@sample"}, `gsoreplay: --cpus "1-x": want CPU numbers and ranges such as 0,2,4-7`},
		{[]string{"replay", "-i", "lo", "--cpus", "1024", "@sample"}, `gsoreplay: --cpus "1024": want CPU numbers and ranges such as 0,2,4-7`},
		{[]string{"verify", "--cpus", "3-1"}, `gsoreplay: --cpus "3-1": want CPU numbers and ranges such as 0,2,4-7`},
		{[]string{"replay", "-i", "lo", "-I", "lo", "--split", "bridge", fixture}, `gsoreplay: replay: --split "bridge": want client, server, cidr:NET,... or port[:PORTS]`},
		{[]string{"replay", "-i", "lo", "-I", "lo", "--split", "cidr:10.0.0.0/40", fixture}, `gsoreplay: replay: --split cidr:10.0.0.0/40: "10.0.0.0/40" is not a CIDR block (like 10.0.0.0/8)`},
		{[]string{"replay", "-i", "lo", "-I", "lo", "--split", "port:90-80", fixture}, `gsoreplay: replay: --split port:90-80: "90-80" is not a port or a range LO-HI`},
		{[]string{"verify", "--split", "cidr:", fixture}, `gsoreplay: verify: --split cidr:: "" is not a CIDR block (like 10.0.0.0/8)`},
	} {
		code, _, stderr := gsoreplay(t, nil, tc.args...)
		if code != 2 || stderr != tc.want+"\n" {
			t.Errorf("%v: exit %d, stderr\n%s\nwant exit 2 and\n%s", tc.args, code, stderr, tc.want)
		}
	}
}

// TestForwardFlagMessages: verify --forward's flags are refused, with exit
// status 2, where they cannot work.
func TestForwardFlagMessages(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "--egress", "tso", fixture}, `gsoreplay: --egress, --gro-list, --coalesce, --big-tcp, --snat and --router-mac go with --forward`},
		{[]string{"verify", "--big-tcp", "262144", fixture}, `gsoreplay: --egress, --gro-list, --coalesce, --big-tcp, --snat and --router-mac go with --forward`},
		{[]string{"verify", "--snat", fixture}, `gsoreplay: --egress, --gro-list, --coalesce, --big-tcp, --snat and --router-mac go with --forward`},
		{[]string{"verify", "--forward", "--iface", "lo", "--capture-iface", "lo", "--router-mac", "00:11:22:33:44:55", "--snat", fixture}, `gsoreplay: --egress, --gro-list, --big-tcp and --snat shape the lab's router; with --iface your router is as you set it up`},
		{[]string{"verify", "--forward", "--big-tcp", "65536", fixture}, `gsoreplay: --big-tcp 65536: want 65537..524280 bytes`},
		{[]string{"verify", "--forward", "--big-tcp", "600000", fixture}, `gsoreplay: --big-tcp 600000: want 65537..524280 bytes`},
		{[]string{"verify", "--forward", "--iface", "lo", "--capture-iface", "lo", "--router-mac", "00:11:22:33:44:55", "--big-tcp", "262144", fixture}, `gsoreplay: --egress, --gro-list, --big-tcp and --snat shape the lab's router; with --iface your router is as you set it up`},
		{[]string{"probe", "--gro", "--forward"}, `gsoreplay: probe: --gro or --forward, not both`},
		{[]string{"verify", "--forward", "--egress", "lro", fixture}, `gsoreplay: --egress "lro": want gso or tso`},
		{[]string{"verify", "--forward", "--gro", fixture}, `gsoreplay: verify --forward sends the capture as it is, on one interface, to the router's MAC: no --gro, no rewriting, no split`},
		{[]string{"verify", "--forward", "--iface", "lo", "--capture-iface", "lo", fixture}, `gsoreplay: verify --forward --iface: give your router's MAC on that side (--router-mac)`},
		{[]string{"verify", "--forward", "--router-mac", "00:11:22:33:44:55", fixture}, `gsoreplay: --router-mac goes with --iface and --capture-iface: the lab's router has its own`},
		{[]string{"verify", "--forward", "--iface", "lo", "--capture-iface", "lo", "--router-mac", "x", fixture}, `gsoreplay: --router-mac "x": not a MAC address (like 00:11:22:33:44:55)`},
	} {
		code, _, stderr := gsoreplay(t, nil, tc.args...)
		if code != 2 || stderr != tc.want+"\n" {
			t.Errorf("%v: exit %d, stderr\n%s\nwant exit 2 and\n%s", tc.args, code, stderr, tc.want)
		}
	}
}
