package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// TestVerifyViaTapVXLAN records fresh VXLAN traffic (TCP and UDP, inner
// IPv4 and IPv6) over an IPv4 and an IPv6 underlay, with the outer UDP
// checksum on and off, and verifies it through a tap: every frame exact,
// and at least 80 % of the inner payload packets (counted with gopacket)
// inside UDP tunnel super-packets. By packet socket the same captures
// still verify exact, merged as outer USO where the checksum allows.
func TestVerifyViaTapVXLAN(t *testing.T) {
	testenv.RequireRoot(t, "ip", "ethtool", "iperf3", "tcpdump")
	dir := t.TempDir()
	for _, rec := range []struct {
		name string
		env  []string
	}{
		{"v4", nil},
		{"v4-zerocsum", []string{"UDPCSUM=off"}},
		{"v6", []string{"UNDERLAY=6"}},
		{"v6-zerocsum", []string{"UNDERLAY=6", "UDPCSUM=off"}},
	} {
		t.Run(rec.name, func(t *testing.T) {
			out := filepath.Join(dir, rec.name+".pcap")
			cmd := exec.Command("../../testdata/record-vxlan-traffic.sh", out, "256K", "100")
			cmd.Env = append(os.Environ(), rec.env...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("recording: %v\n%s", err, b)
			}
			payload := innerPayloads(t, out)
			code, stdout, stderr := gsoreplay(t, nil, "verify", "--via", "tap", "--json", out)
			var v struct {
				Packets, Exact int
				Verdict        string
			}
			if err := json.Unmarshal([]byte(stdout), &v); code != 0 || err != nil || v.Verdict != "exact" || v.Exact != v.Packets {
				t.Fatalf("verify --via tap: exit %d, %+v, %v\n%s%s", code, v, err, stdout, stderr)
			}
			code, stdout, stderr = gsoreplay(t, nil, "inspect", "--json", out)
			var in struct {
				Coalescing struct {
					Tunnel int            `json:"tunnel_coalesced_packets"`
					GSO    map[string]int `json:"gso_types"`
				}
			}
			if err := json.Unmarshal([]byte(stdout), &in); code != 0 || err != nil {
				t.Fatalf("inspect: exit %d, %v\n%s", code, err, stderr)
			}
			t.Logf("%d of %d inner payload packets in tunnel super-packets %v", in.Coalescing.Tunnel, payload, in.Coalescing.GSO)
			if payload < 200 || in.Coalescing.Tunnel*10 < payload*8 {
				t.Errorf("%d of %d inner payload packets in tunnel super-packets, want at least 80%% of at least 200", in.Coalescing.Tunnel, payload)
			}
			if code, stdout, stderr := gsoreplay(t, nil, "verify", out); code != 0 {
				t.Errorf("verify by packet socket: exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
}

// innerPayloads counts, with gopacket, the packets of a VXLAN capture
// whose inner TCP or UDP packet carries payload (and no SYN or RST).
func innerPayloads(t *testing.T, path string) int {
	t.Helper()
	r, err := pcaps.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	var p pcaps.Packet
	for r.Next(&p) == nil {
		g := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.NoCopy)
		if g.Layer(layers.LayerTypeVXLAN) == nil {
			continue
		}
		var inner []gopacket.Layer
		for _, l := range g.Layers() {
			if l.LayerType() == layers.LayerTypeTCP || l.LayerType() == layers.LayerTypeUDP {
				inner = append(inner, l)
			}
		}
		if len(inner) < 2 { // the outer UDP comes first
			continue
		}
		last := inner[len(inner)-1]
		if len(last.LayerPayload()) == 0 {
			continue
		}
		if tcp, ok := last.(*layers.TCP); ok && (tcp.SYN || tcp.RST) {
			continue
		}
		n++
	}
	return n
}
