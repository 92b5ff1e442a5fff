package coalesce_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/gso"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
)

func requireRoot(t *testing.T, tools ...string) { t.Helper(); testenv.RequireRoot(t, tools...) }

// payloadShare coalesces a capture and returns how many packets carried a
// TCP/UDP payload that may merge — counted by gopacket, not by the
// coalescer: TCP segments with data and no SYN, RST or URG, UDP datagrams
// with data, IPv4 fragments of UDP datagrams — and the coalescer's counts.
func payloadShare(t *testing.T, capture []byte) (payload int64, st *coalesce.Stats) {
	src, err := pcapgo.NewReader(bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, _, err := src.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(b, src.LinkType(), gopacket.NoCopy)
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && len(tcp.Payload) > 0 && !tcp.SYN && !tcp.RST && !tcp.URG {
			payload++
		} else if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && len(udp.Payload) > 0 {
			payload++
		} else if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && ip.Protocol == layers.IPProtocolUDP &&
			(ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0) {
			payload++
		}
	}
	orig, back, st := roundTrip(t, capture, coalesce.DefaultOptions())
	compareFrames(t, orig, back)
	return payload, st
}

// TestKernelFixtureMerges: bulk traffic recorded from the kernel (the
// committed sample) mostly ends up in super-packets.
func TestKernelFixtureMerges(t *testing.T) {
	data, err := os.ReadFile("../testdata/kernel-traffic.pcap")
	if err != nil {
		t.Fatal(err)
	}
	payload, st := payloadShare(t, data)
	merged := st.Merged
	t.Logf("%d of %d payload packets merged", merged, payload)
	if merged*10 < payload*8 {
		t.Errorf("only %d of %d payload packets merged, want at least 80%%", merged, payload)
	}
}

// TestKernelTrafficFresh records new traffic between two namespaces with the
// fixture script and checks the round trip and the merge ratio on it, and
// that the 20 fragmented IPv4 datagrams become UFO super-packets.
func TestKernelTrafficFresh(t *testing.T) {
	requireRoot(t, "ip", "ethtool", "iperf3", "tcpdump")
	out := filepath.Join(t.TempDir(), "fresh.pcap")
	cmd := exec.Command("../testdata/record-kernel-traffic.sh", out, "1M", "300", "20")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("recording: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	payload, st := payloadShare(t, data)
	merged := st.Merged
	t.Logf("%d of %d payload packets merged, %d UFO super-packets", merged, payload, st.GSO[gso.UDP])
	if payload < 500 || merged*10 < payload*8 {
		t.Errorf("%d of %d payload packets merged, want at least 80%% of at least 500", merged, payload)
	}
	if st.GSO[gso.UDP] != 20 {
		t.Errorf("%d UFO super-packets, want one per fragmented datagram (20)", st.GSO[gso.UDP])
	}
}

// TestKernelFragments: the IPv4 fragment trains the kernel sent for 4000-byte
// UDP datagrams (testdata/kernel-fragments.pcap) become one UFO super-packet
// each, and its IPv6 fragments pass through; counted independently with
// gopacket.
func TestKernelFragments(t *testing.T) {
	data, err := os.ReadFile("../testdata/kernel-fragments.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var v4Datagrams, v4Frags, v6Frags int64
	src, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, _, err := src.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.NoCopy)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && ip.Protocol == layers.IPProtocolUDP &&
			(ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0) {
			v4Frags++
			if ip.FragOffset == 0 {
				v4Datagrams++
			}
		}
		if p.Layer(layers.LayerTypeIPv6Fragment) != nil {
			v6Frags++
		}
	}
	orig, back, st := roundTrip(t, data, coalesce.DefaultOptions())
	compareFrames(t, orig, back)
	t.Logf("%d IPv4 datagrams in %d fragments, %d IPv6 fragments; %d UFO super-packets", v4Datagrams, v4Frags, v6Frags, st.GSO[gso.UDP])
	if v4Datagrams < 20 || v6Frags == 0 {
		t.Fatalf("fixture holds %d IPv4 fragmented datagrams and %d IPv6 fragments", v4Datagrams, v6Frags)
	}
	if st.GSO[gso.UDP] != v4Datagrams || st.Flushes[coalesce.ReasonDatagram] != v4Datagrams {
		t.Errorf("%d UFO super-packets (%d completed trains), want one per datagram: %d", st.GSO[gso.UDP], st.Flushes[coalesce.ReasonDatagram], v4Datagrams)
	}
	if st.Refused[coalesce.ReasonFragment] != v6Frags {
		t.Errorf("%d fragments refused, want the %d IPv6 ones", st.Refused[coalesce.ReasonFragment], v6Frags)
	}
}
