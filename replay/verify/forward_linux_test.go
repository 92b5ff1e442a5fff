package verify

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/internal/testcap"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/lab"
)

// routable counts, with gopacket (the independent decoder), the frames a
// router forwards: IPv4 or IPv6 to and from unicast addresses with a TTL
// or hop limit above 1.
func routable(t *testing.T, path string) int {
	t.Helper()
	n := 0
	for _, d := range testcap.Frames(t, path) {
		p := gopacket.NewPacket(d, layers.LayerTypeEthernet, gopacket.NoCopy)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			unicast := func(a net.IP) bool {
				return a[0] != 0 && !a.IsMulticast() && !a.IsLoopback() && !a.Equal(net.IPv4bcast)
			}
			if ip.TTL > 1 && unicast(ip.SrcIP.To4()) && unicast(ip.DstIP.To4()) {
				n++
			}
		} else if ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			if ip.HopLimit > 1 && !ip.DstIP.IsMulticast() && !ip.DstIP.IsLinkLocalUnicast() && !ip.SrcIP.IsLinkLocalUnicast() {
				n++
			}
		}
	}
	return n
}

// TestVerifyForward: real kernel traffic (TCP and UDP, IPv4 and IPv6), a
// dumpcap recording and a fresh recording sent through the lab's router,
// egress by software GSO and by TSO: every forwardable frame comes out
// exact up to the routing's edits, the router's GRO merged losslessly,
// and the forwardable count is gopacket's.
func TestVerifyForward(t *testing.T) {
	testenv.RequireRoot(t)
	inputs := kernelInputs(t)
	for _, in := range inputs {
		want := routable(t, in)
		for _, eg := range []lab.Egress{lab.EgressGSO, lab.EgressTSO} {
			open := func() (*pcaps.Reader, error) { return pcaps.Open(in) }
			rep, err := VerifyForward(context.Background(), in, open, ForwardOptions{Coalesce: coalesce.DefaultOptions(), Egress: eg})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != VerdictExact || rep.Forwardable != want || rep.Exact != want || rep.Mismatched+rep.Missing+rep.Extra != 0 {
				t.Fatalf("%s, egress %s: want %d frames exact: %+v", in, eg, want, rep)
			}
			r := rep.Router
			if r == nil || r.GROPackets == 0 || r.Lossless != r.GROPackets || r.Missing != 0 {
				t.Fatalf("%s, egress %s: the router's GRO: %+v", in, eg, r)
			}
			if (eg == lab.EgressTSO) != (rep.SuperPackets > 0) {
				t.Errorf("%s, egress %s: %d super-packets reached the receiver", in, eg, rep.SuperPackets)
			}
		}
	}
}

// TestVerifyForwardSeesAWrongEdit: an expectation whose source MAC is
// not the router's (one routing edit flipped) fails every routed frame,
// placed after GRO, and the details name the field.
func TestVerifyForwardSeesAWrongEdit(t *testing.T) {
	testenv.RequireRoot(t)
	in := "../../testdata/kernel-traffic.pcap"
	open := func() (*pcaps.Reader, error) { return pcaps.Open(in) }
	notRouters := func(f []byte) { f[11] ^= 0xff }
	rep, err := VerifyForward(context.Background(), in, open, ForwardOptions{Coalesce: coalesce.DefaultOptions(), expectEdit: notRouters})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != VerdictMismatch || rep.Exact != 0 || rep.Mismatched != rep.Forwardable || rep.BrokenAfterGRO != rep.Mismatched || rep.Missing+rep.Extra != 0 {
		t.Fatalf("%+v", rep)
	}
	found := false
	for _, d := range rep.Details {
		found = found || strings.Contains(d, "Ethernet source")
	}
	if !found {
		t.Errorf("no detail names the Ethernet source: %q", rep.Details)
	}
}

// TestVerifyForwardFixedID: segments with DF and one IP ID. The router's
// GRO merges them (SKB_GSO_TCP_FIXEDID), which a virtio header cannot
// say: the GRO packet is lossy as one describes it, at the IPv4 ID; the
// kernel keeps the IDs inside and forwards the frames exact (6.18), by
// software GSO and by TSO alike.
func TestVerifyForwardFixedID(t *testing.T) {
	testenv.RequireRoot(t)
	base := craft.TCPBulk()
	base.DF = true
	path := filepath.Join(t.TempDir(), "fixed-id.pcap")
	if err := craft.WriteFile(path, craft.Packets(craft.Flow(base, 8, func(_ int, p *craft.Frame) { p.ID = 777 }))); err != nil {
		t.Fatal(err)
	}
	open := func() (*pcaps.Reader, error) { return pcaps.Open(path) }
	for _, eg := range []lab.Egress{lab.EgressGSO, lab.EgressTSO} {
		// 10 ms for the eight frames to meet in one poll even on a busy
		// machine; were they cut anyway, every merged part is lossy alike.
		rep, err := VerifyForward(context.Background(), path, open, ForwardOptions{Coalesce: coalesce.DefaultOptions(), Egress: eg,
			Pacing: replay.Pacing{Topspeed: true}, FlushTimeout: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Router
		if rep.Verdict != VerdictExact || rep.Exact != 8 || r == nil || r.Lossy < 1 || r.Lossless != 0 || len(rep.Details) == 0 || !strings.Contains(rep.Details[0], "IPv4 ID") {
			t.Fatalf("egress %s: %+v; router %+v", eg, rep, r)
		}
	}
}
