package lab

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
)

// TestCountersUnreadable: counters that cannot be read are an error, never
// zeros that a later subtraction turns into a false loss.
func TestCountersUnreadable(t *testing.T) {
	testenv.RequireRoot(t)
	tb, err := NewTestbed(TestbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	before, err := tb.Counters()
	if err != nil {
		t.Fatalf("counters of a fresh lab: %v", err)
	}
	// Deleting A's end takes the pair: B's counters are gone with it.
	link, err := tb.Lab.hA.LinkByName(tb.Lab.IfA)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Lab.hA.LinkDel(link); err != nil {
		t.Fatal(err)
	}
	after, err := tb.Counters()
	if err == nil {
		t.Fatalf("counters read after the veth was deleted: %+v (before %+v)", after, before)
	}
	if !strings.Contains(err.Error(), tb.Lab.IfA) {
		t.Errorf("the error %q does not name the interface %s", err, tb.Lab.IfA)
	}
	var le netlink.LinkNotFoundError
	if !errors.As(err, &le) {
		t.Errorf("the error %q does not wrap netlink's LinkNotFoundError", err)
	}
}

// TestTestbedOptions: existing interfaces come in pairs.
func TestTestbedOptions(t *testing.T) {
	for _, tc := range []struct {
		o    TestbedOptions
		want error
	}{
		{TestbedOptions{}, nil},
		{TestbedOptions{Iface: "eth1", CaptureIface: "eth2"}, nil},
		{TestbedOptions{Iface: "eth1"}, ErrInterfaces},
		{TestbedOptions{CaptureIface: "eth2"}, ErrInterfaces},
	} {
		if err := tc.o.Validate(); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.o, err, tc.want)
		}
	}
	two := TestbedOptions{Iface: "eth1", CaptureIface: "eth2", Two: true}
	if err := two.Validate(); err == nil {
		t.Errorf("%+v: a split on existing interfaces without a second pair is valid", two)
	}
}

// TestSoftnetDrops agrees with the sum of the file's second column, read
// here with fmt (drops do not change on an idle test machine).
func TestSoftnetDrops(t *testing.T) {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		t.Skipf("no softnet_stat: %v", err)
	}
	var want uint64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var processed, dropped uint64
		if _, err := fmt.Sscanf(line, "%x %x", &processed, &dropped); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		want += dropped
	}
	got, err := SoftnetDrops()
	if err != nil || got != want {
		t.Fatalf("SoftnetDrops() = %d, %v; the file sums to %d", got, err, want)
	}
}
