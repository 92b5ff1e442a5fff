package split

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// tcpprep runs Debian's tcpprep (and 4.6's when present) with args on in
// and returns the caches they write.
func tcpprep(t *testing.T, in string, args ...string) map[string]*Cache {
	out := map[string]*Cache{}
	for ver, bin := range map[string]string{"4.4": "tcpprep", "4.6": "../../../shared/anchors/tcpreplay-4.6/bin/tcpprep"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("tcpprep %s missing in CI", ver)
			}
			continue
		}
		path := filepath.Join(t.TempDir(), ver+".cache")
		if msg, err := exec.Command(bin, append(args, "--pcap="+in, "--cachefile="+path)...).CombinedOutput(); err != nil {
			t.Fatalf("tcpprep %s: %v %s", ver, err, msg)
		}
		c, err := ReadCacheFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out[ver] = c
	}
	if len(out) == 0 {
		t.Skip("no tcpprep")
	}
	return out
}

func packets(t *testing.T, in string) []pcaps.Packet {
	r, err := pcaps.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []pcaps.Packet
	r.Each(func(p *pcaps.Packet) error {
		q := *p
		q.Data = append([]byte(nil), p.Data...)
		out = append(out, q)
		return nil
	})
	return out
}

// TestBuiltinAgreesWithTcpprep: the built-in splits give every packet the
// side tcpprep's cache gives it — but for IPv6 in client mode, which
// tcpprep leaves unclassified (so primary): there the expectation is the
// role each host took (fd00:99::1 opens the connections).
func TestBuiltinAgreesWithTcpprep(t *testing.T) {
	for _, in := range []string{"../../testdata/kernel-traffic.pcap", "../../testdata/kernel-fragments.pcap"} {
		pk := packets(t, in)
		r, _ := pcaps.Open(in)
		hosts, err := Learn(r, Primary)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		cidr, _ := ParseCIDR("10.99.0.2/32")
		for _, mode := range []struct {
			args []string
			s    Splitter
		}{
			{[]string{"--auto=client"}, hosts},
			{[]string{"--cidr=10.99.0.2/32"}, cidr},
		} {
			for ver, c := range tcpprep(t, in, mode.args...) {
				if c.Packets != int64(len(pk)) {
					t.Fatalf("%s: cache of %d packets, capture %d", ver, c.Packets, len(pk))
				}
				v6 := 0
				for i := range pk {
					got, gsend := mode.s.Side(&pk[i], int64(i+1))
					want, wsend := c.Side(nil, int64(i+1))
					if a, ok := source(&pk[i]); ok && a.Is6() && mode.args[0] == "--auto=client" {
						want = Secondary
						if a == netip.MustParseAddr("fd00:99::1") {
							want = Primary
						}
						v6++
					}
					if got != want || gsend != wsend {
						t.Fatalf("%s %s %v: packet %d: side %d, want %d", ver, filepath.Base(in), mode.args, i+1, got, want)
					}
				}
				if mode.args[0] == "--auto=client" && v6 == 0 {
					t.Fatal("no IPv6 packet: the expectation would prove nothing")
				}
			}
		}
	}
}

func TestCacheErrors(t *testing.T) {
	good := []byte("tcpprep\x0004\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x04\x00\x02hi\xff\x03")
	if c, err := ReadCache(bytes.NewReader(good)); err != nil || c.Packets != 5 || c.Comment != "hi" {
		t.Fatalf("good cache: %v %+v", err, c)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"magic", append([]byte("tcpdump"), good[7:]...), ErrNotCache},
		{"version", append(append([]byte(nil), good[:8]...), append([]byte("03"), good[10:]...)...), ErrCacheVersion},
		{"short data", good[:len(good)-1], ErrNotCache},
		{"short header", good[:10], ErrNotCache},
	} {
		if _, err := ReadCache(bytes.NewReader(tc.data)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
