package lab

import (
	"maps"
	"strings"
	"testing"
)

// TestIPDropsParse: the drop counters are read by name from both files'
// layouts (here 6.18's, trimmed), other counters left out.
func TestIPDropsParse(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes\n" +
		"Ip: 1 64 900 7 2 880 0 3 10 5 4 1\n" +
		"Icmp: InMsgs InErrors\nIcmp: 0 0\n"
	snmp6 := "Ip6InReceives                   	500\nIp6InHdrErrors                  	132\nIp6InTruncatedPkts              	0\nIp6OutForwDatagrams             	360\nIcmp6InMsgs 2\n"
	d := map[string]uint64{}
	if err := snmpRows(strings.NewReader(snmp), d); err != nil {
		t.Fatal(err)
	}
	if err := snmp6Lines(strings.NewReader(snmp6), d); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"IPv4 InHdrErrors": 7, "IPv4 InAddrErrors": 2, "IPv4 InDiscards": 3, "IPv4 OutDiscards": 4, "IPv4 OutNoRoutes": 1,
		"IPv6 Ip6InHdrErrors": 132, "IPv6 Ip6InTruncatedPkts": 0}
	if !maps.Equal(d, want) {
		t.Errorf("got %v, want %v", d, want)
	}
	for _, bad := range []string{"Ip: A B\nIp: 1\n", "Ip: InHdrErrors\nIp: x\n", "Tcp: A\nTcp: 1\n"} {
		if err := snmpRows(strings.NewReader(bad), map[string]uint64{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestIPDrops reads this namespace's counters: IPv4's always there.
func TestIPDrops(t *testing.T) {
	d, err := IPDrops()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d["IPv4 InHdrErrors"]; !ok {
		t.Errorf("no IPv4 InHdrErrors in %v", d)
	}
}

// TestLost: a veth peer's backlog overflow counted by the host's backlog,
// the receiver's rx_dropped and the router's tx_dropped is lost once;
// other places add up.
func TestLost(t *testing.T) {
	r := &Router{IfR: "gsr-r"}
	tb := &Testbed{capIf: "gsr-c", Lab: &Lab{Router: r}}
	d := map[string]uint64{"capture socket": 2, "gsr-b rx_dropped (router in)": 3, "router IPv6 Ip6InHdrErrors": 5,
		"gsr-r tx_dropped (router out)": 70, "gsr-c rx_dropped": 70, "softnet backlog": 71}
	if got := tb.Lost(d); got != 2+3+5+71 {
		t.Errorf("behind a router: lost %d, want %d", got, 2+3+5+71)
	}
	plain := &Testbed{capIf: "gsr-b"}
	if got := plain.Lost(map[string]uint64{"gsr-a tx_dropped": 4, "gsr-b rx_dropped": 9, "softnet backlog": 9}); got != 13 {
		t.Errorf("plain: lost %d, want 13", got)
	}
}
