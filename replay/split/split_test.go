package split

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

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
// side tcpprep 4.4's and 4.6's caches give it — but for IPv6 in client
// mode, where tcpprep's host tree takes every IPv6 host for one (its
// tree_comp compares an address with itself): there the expectation is
// computed here with gopacket, the role each IPv6 host took in its TCP
// handshakes.
func TestBuiltinAgreesWithTcpprep(t *testing.T) {
	files := []string{"../../testdata/kernel-traffic.pcap", "../../testdata/kernel-fragments.pcap"}
	for _, f := range []string{"tcpreplay__test.pcap", "zeek__http_bro.org.pcap", "tcpdump__dns_tcp.pcap"} {
		// tcpreplay's own test capture and other IPv4 traffic with
		// low server ports, from the corpus.
		if p := "../../../shared/corpus/" + f; fileExists(p) {
			files = append(files, p)
		} else if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing in CI", p)
		}
	}
	ports, _ := ParsePorts("")
	for _, in := range files {
		pk := packets(t, in)
		r, _ := pcaps.Open(in)
		hosts, err := Learn(r, Primary)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		cidr, _ := ParseCIDR("10.99.0.2/32")
		v6role := ipv6Roles(pk)
		for _, mode := range []struct {
			args []string
			s    Splitter
		}{
			{[]string{"--auto=client"}, hosts},
			{[]string{"--cidr=10.99.0.2/32"}, cidr},
			{[]string{"--port"}, ports},
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
						want = v6role[a]
						v6++
					}
					if got != want || gsend != wsend {
						t.Fatalf("%s %s %v: packet %d: side %d, want %d", ver, filepath.Base(in), mode.args, i+1, got, want)
					}
				}
				if mode.args[0] == "--auto=client" && strings.Contains(in, "kernel-traffic") && v6 == 0 {
					t.Fatal("no IPv6 packet: the expectation would prove nothing")
				}
			}
		}
	}
}

// ipv6Roles: an IPv6 host that sends a SYN alone is a client (primary),
// one that answers SYN+ACK a server (secondary), one that does neither a
// client (client mode's default); read with gopacket.
func ipv6Roles(pk []pcaps.Packet) map[netip.Addr]Side {
	roles := map[netip.Addr]Side{}
	votes := map[netip.Addr][2]int{}
	for _, p := range pk {
		g := gopacket.NewPacket(p.Data, p.LinkType, gopacket.NoCopy)
		ip, ok := g.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		if !ok {
			continue
		}
		a, _ := netip.AddrFromSlice(ip.SrcIP)
		v := votes[a]
		if tcp, ok := g.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && tcp.SYN && !tcp.FIN && !tcp.RST && !tcp.PSH && !tcp.URG {
			if tcp.ACK {
				v[1]++
			} else {
				v[0]++
			}
		}
		votes[a] = v
	}
	for a, v := range votes {
		roles[a] = Primary
		if (v[0] > 0 || v[1] > 0) && v[1] >= 2*v[0] {
			roles[a] = Secondary
		}
	}
	return roles
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

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
