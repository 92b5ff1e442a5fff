package split_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/replay/split"
)

// TestParse: each mode, by the sides its tcpprep mode gives crafted
// packets (10.0.0.1:40000 -> 10.0.0.2:5201, its reverse, and one to port
// 80), decided here from the modes' definitions; and the errors the CLI's
// --split reports.
func TestParse(t *testing.T) {
	// Data segments only: no host gives a clue, so the auto modes put
	// every host on the side of the unknown.
	fwd := craft.TCPBulk()
	rev := fwd
	rev.Swap, rev.Sport, rev.Dport = true, 5201, 40000
	web := fwd
	web.Dport = 80
	pkts := craft.Packets([]craft.Frame{fwd, rev, web})
	path := filepath.Join(t.TempDir(), "c.pcap")
	if err := craft.WriteFile(path, pkts); err != nil {
		t.Fatal(err)
	}
	P, S := split.Primary, split.Secondary
	for _, tc := range []struct {
		mode  string
		learn bool
		want  [3]split.Side // fwd, rev, web
	}{
		{"client", true, [3]split.Side{P, P, P}},
		{"server", true, [3]split.Side{S, S, S}},
		{"cidr:10.0.0.1/32", false, [3]split.Side{P, S, P}},
		{"cidr:10.0.0.2/32,192.0.2.0/24", false, [3]split.Side{S, P, S}},
		{"cidr:[2001:db8::/32]", false, [3]split.Side{S, S, S}},
		{"port", false, [3]split.Side{S, S, P}},
		{"port:", false, [3]split.Side{S, S, P}},
		{"port:5201", false, [3]split.Side{P, S, S}},
		{"port:80,5000-5300", false, [3]split.Side{P, S, P}},
	} {
		m, err := split.Parse(tc.mode)
		if err != nil {
			t.Errorf("%s: %v", tc.mode, err)
			continue
		}
		if m.Learn != tc.learn {
			t.Errorf("%s: Learn %v", tc.mode, m.Learn)
		}
		opened := 0
		sp, err := m.Splitter(func() (*pcaps.Reader, error) { opened++; return pcaps.Open(path) })
		if err != nil {
			t.Errorf("%s: %v", tc.mode, err)
			continue
		}
		if want := map[bool]int{true: 1, false: 0}[tc.learn]; opened != want {
			t.Errorf("%s: the capture opened %d times, want %d", tc.mode, opened, want)
		}
		for i := range pkts {
			if side, send := sp.Side(&pkts[i], int64(i+1)); side != tc.want[i] || !send {
				t.Errorf("%s: packet %d: side %d send %v, want side %d", tc.mode, i, side, send, tc.want[i])
			}
		}
	}
	if sp, err := (split.Mode{}).Splitter(nil); sp != nil || err != nil {
		t.Errorf("zero Mode: %v %v, want no split", sp, err)
	}

	for _, tc := range []struct {
		mode    string
		unknown bool   // ErrMode
		msg     string // the whole message
	}{
		{"bridge", true, `"bridge": want client, server, cidr:NET,... or port[:PORTS]`},
		{"", true, `"": want client, server, cidr:NET,... or port[:PORTS]`},
		{"Client", true, `"Client": want client, server, cidr:NET,... or port[:PORTS]`},
		{"cidr", true, `"cidr": want client, server, cidr:NET,... or port[:PORTS]`},
		{"cidr:10.0.0.0/40", false, `cidr:10.0.0.0/40: "10.0.0.0/40" is not a CIDR block (like 10.0.0.0/8)`},
		{"cidr:", false, `cidr:: "" is not a CIDR block (like 10.0.0.0/8)`},
		{"port:x", false, `port:x: "x" is not a port or a range LO-HI`},
		{"port:90-80", false, `port:90-80: "90-80" is not a port or a range LO-HI`},
		{"port:65536", false, `port:65536: "65536" is not a port or a range LO-HI`},
	} {
		_, err := split.Parse(tc.mode)
		if err == nil || errors.Is(err, split.ErrMode) != tc.unknown || err.Error() != tc.msg || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v (ErrMode %v), want %s", tc.mode, err, errors.Is(err, split.ErrMode), tc.msg)
		}
	}
	// An auto mode's capture that cannot be read is its error.
	m, err := split.Parse("client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Splitter(func() (*pcaps.Reader, error) { return pcaps.Open(filepath.Join(t.TempDir(), "missing.pcap")) }); err == nil {
		t.Error("client over a missing capture: no error")
	}
}
