package verify

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

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
	path := fixedIDFixture(t)
	open := fileOpener(path)
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

// bulkTurns writes conns bulk TCP connections over IPv4 or IPv6 taking
// turns of 500 full-size segments, n segments each: trains long enough
// for super-packets and GRO packets of any size.
func bulkTurns(t *testing.T, name string, v6 bool, conns, n int) string {
	t.Helper()
	next := make([]craft.Frame, conns)
	for c := range next {
		next[c] = craft.TCPBulk()
		if v6 {
			next[c] = craft.TCPBulk6()
		}
		next[c].Sport += uint16(c)
	}
	var pkts []pcaps.Packet
	for done := 0; done < n; done += 500 {
		for c := range next {
			fl := craft.Flow(next[c], min(500, n-done), nil)
			pkts = append(pkts, craft.Packets(fl)...)
			last := fl[len(fl)-1]
			next[c].Seq, next[c].ID = last.Seq+uint32(len(last.Payload)), last.ID+1
		}
	}
	for i := range pkts {
		pkts[i].Timestamp = time.Unix(1700000000, int64(i)*1000)
	}
	path := filepath.Join(t.TempDir(), name+".pcap")
	if err := craft.WriteFile(path, pkts); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVerifyForwardCoalesced: bulk trains sent as super-packets reach the
// router whole (its GRO hands up exactly the super-packets coalesce made) and come out exact by both
// egresses. Before the sender's end passed them whole, it cut them into
// bursts that overflowed the router's NAPI ring and most were lost.
func TestVerifyForwardCoalesced(t *testing.T) {
	testenv.RequireRoot(t)
	const conns, n = 2, 1500
	path := bulkTurns(t, "bulk", false, conns, n)
	// A router that cuts 64 super-packets a poll hands the receiver's
	// backlog up to 2880 frames at once: more than the default 1000.
	backlog := "/proc/sys/net/core/netdev_max_backlog"
	old, err := os.ReadFile(backlog)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(backlog, []byte("10000"), 0); err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile(backlog, old, 0)
	for _, eg := range []lab.Egress{lab.EgressTSO, lab.EgressGSO} {
		rep, err := VerifyForward(context.Background(), path, fileOpener(path), ForwardOptions{Coalesce: coalesce.DefaultOptions(), Coalesced: true, Egress: eg})
		if err != nil {
			t.Fatal(err)
		}
		// A connection's turns coalesce into one run: super-packets of as
		// many 1448-byte segments as fit 65535 bytes of IP, and a rest.
		segs := (65535 - 20 - 32) / 1448
		r := rep.Router
		if rep.Verdict != VerdictExact || rep.Exact != conns*n || r == nil || r.GROPackets != conns*((n+segs-1)/segs) || r.GROMerged != conns*n || r.Lossless != r.GROPackets {
			t.Fatalf("egress %s: %+v; router %+v", eg, rep, r)
		}
	}
}

// TestVerifyForwardBigTCP: with the lab's GRO and GSO limits raised to
// 256 KiB, IPv4 crosses the router in packets above 64 KiB, sent frame by
// frame (the router's GRO builds them) or whole, and comes out exact. A
// whole IPv6 super-packet above 64 KiB is refused by the router's IPv6
// input on 6.18 (payload length 0 without a Hop-by-Hop jumbo option, which
// the sender's kernel takes off if we write one): lost, the loss placed at
// the router's Ip6InHdrErrors, and a detail says what to do.
func TestVerifyForwardBigTCP(t *testing.T) {
	testenv.RequireRoot(t)
	const size, n = 262144, 1000
	v4 := bulkTurns(t, "v4", false, 1, n)
	big := coalesce.DefaultOptions()
	big.MaxBytes, big.MaxSegments = size, coalesce.MaxSegs
	for _, coalesced := range []bool{false, true} {
		rep, err := VerifyForward(context.Background(), v4, fileOpener(v4), ForwardOptions{Coalesce: big, Coalesced: coalesced, Egress: lab.EgressTSO,
			BigTCP: size, FlushTimeout: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Router
		if rep.Verdict != VerdictExact || rep.Exact != n || r == nil || r.LargestBytes <= 65535+14 || r.Lossless != r.GROPackets {
			t.Fatalf("IPv4, coalesced %v: %+v; router %+v", coalesced, rep, r)
		}
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	if release := unix.ByteSliceToString(uts.Release[:]); !strings.HasPrefix(release, "6.18.") {
		t.Skipf("whole IPv6 BIG TCP through a router: verified on 6.18 only, this is %s", release)
	}
	v6 := bulkTurns(t, "v6", true, 1, n)
	// With the jumbo option or without: the sender's kernel takes it off.
	for _, jumbo := range []bool{false, true} {
		big.IPv6Jumbo = jumbo
		rep, err := VerifyForward(context.Background(), v6, fileOpener(v6), ForwardOptions{Coalesce: big, Coalesced: true, Egress: lab.EgressTSO, BigTCP: size})
		if err != nil {
			t.Fatal(err)
		}
		// 1000 frames of 1428 bytes: super-packets of 183 segments (5
		// above 64 KiB, 915 frames) and a rest of 85 (above 64 KiB too).
		if rep.Verdict != VerdictLost || rep.Missing != n || rep.DropsBy["router IPv6 Ip6InHdrErrors"] == 0 || !strings.Contains(strings.Join(rep.Details, "\n"), "--max-bytes 65535") {
			t.Fatalf("IPv6 whole, jumbo option %v: %+v", jumbo, rep)
		}
	}
}

// TestVerifyForwardSNAT: one-way bulk connections of both IP versions
// through a router that source-NATs them (its GRO merging, nf_nat
// rewriting the GRO packets, its egress cutting or passing them on)
// come out exact by both egresses. gopacket reads what the receiver got:
// every packet from lab.SNAT4 or lab.SNAT6 with right TCP checksums; and
// the same run expecting no translation finds none of the frames sent.
func TestVerifyForwardSNAT(t *testing.T) {
	testenv.RequireRoot(t)
	const n = 1000
	for _, v6 := range []bool{false, true} {
		path := bulkTurns(t, fmt.Sprintf("snat-v6-%v", v6), v6, 2, n)
		for _, eg := range []lab.Egress{lab.EgressGSO, lab.EgressTSO} {
			keep := t.TempDir()
			rep, err := VerifyForward(context.Background(), path, fileOpener(path), ForwardOptions{Egress: eg, SNAT: true, Keep: keep, FlushTimeout: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != VerdictExact || rep.Exact != 2*n {
				t.Fatalf("IPv6 %v by %v: %+v", v6, eg, rep)
			}
			got, _ := filepath.Glob(filepath.Join(keep, "*.forwarded.pcapng"))
			if len(got) != 1 {
				t.Fatalf("kept %v", got)
			}
			want := lab.SNAT4.AsSlice()
			if v6 {
				want = lab.SNAT6.AsSlice()
			}
			tcps := 0
			for _, data := range testcap.Frames(t, got[0]) {
				pk := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
				tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if tcp == nil {
					continue // the router's own multicast
				}
				tcps++
				src := pk.NetworkLayer().NetworkFlow().Src().Raw()
				if string(src) != string(want) {
					t.Fatalf("IPv6 %v by %v: a packet from %v", v6, eg, pk.NetworkLayer().NetworkFlow().Src())
				}
				if eg == lab.EgressGSO {
					// Whole GSO packets (tso) carry a partial checksum.
					if err := tcp.SetNetworkLayerForChecksum(pk.NetworkLayer()); err != nil {
						t.Fatal(err)
					}
					if c, err := tcp.ComputeChecksum(); err != nil || c != 0 {
						t.Fatalf("IPv6 %v: TCP checksum %#x wrong (%v)", v6, tcp.Checksum, err)
					}
				}
			}
			if tcps == 0 || eg == lab.EgressGSO && tcps != 2*n {
				t.Fatalf("IPv6 %v by %v: %d TCP packets received", v6, eg, tcps)
			}
		}
		// A router that translates, checked as one that does not.
		o := ForwardOptions{Egress: lab.EgressGSO, SNAT: true, FlushTimeout: 10 * time.Millisecond, untranslated: true}
		rep, err := VerifyForward(context.Background(), path, fileOpener(path), o)
		if err != nil {
			t.Fatal(err)
		}
		// Matched by flow, the translated frames are of no flow sent.
		if rep.Exact != 0 || rep.Missing != 2*n || rep.Extra == 0 || rep.Verdict.Passed() {
			t.Fatalf("IPv6 %v, translation not expected: %+v", v6, rep)
		}
	}
}

// TestVerifyForwardExistingInterfaces runs verify --forward --iface
// --capture-iface --router-mac on interfaces of the test's own, as for a
// router between two NIC ports: a router namespace made here (forwarding
// on, default routes to the receiving side's MAC) between two veth pairs;
// every frame comes out exact, with the routing's edits.
func TestVerifyForwardExistingInterfaces(t *testing.T) {
	testenv.RequireRoot(t)
	local, h := ownNamespace(t)
	router, err := netns.New() // current now; made ready below
	if err != nil {
		t.Fatal(err)
	}
	defer router.Close()
	for k, v := range map[string]string{"net/ipv4/ip_forward": "1", "net/ipv6/conf/all/forwarding": "1",
		"net/ipv4/conf/all/rp_filter": "0", "net/ipv4/conf/default/rp_filter": "0"} {
		if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := netns.Set(local); err != nil {
		t.Fatal(err)
	}
	hr, err := netlink.NewHandleAt(router)
	if err != nil {
		t.Fatal(err)
	}
	defer hr.Close()
	for _, p := range [][2]string{{"fa0", "fa1"}, {"fc0", "fc1"}} {
		if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: p[0]}, PeerName: p[1], PeerNamespace: netlink.NsFd(int(router))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := lab.Setup(h, "fa0", true); err != nil {
		t.Fatal(err)
	}
	if err := lab.Setup(h, "fc0", false); err != nil {
		t.Fatal(err)
	}
	link := func(h *netlink.Handle, name string) netlink.Link {
		l, err := h.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	in, out, receiver := link(hr, "fa1"), link(hr, "fc1"), link(h, "fc0")
	for _, l := range []netlink.Link{in, out, link(hr, "lo")} {
		if err := hr.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	for _, hop := range []net.IP{net.IPv4(169, 254, 9, 2), net.ParseIP("fe80::9:2")} {
		family := netlink.FAMILY_V4
		if hop.To4() == nil {
			family = netlink.FAMILY_V6
		}
		n := &netlink.Neigh{LinkIndex: out.Attrs().Index, Family: family, State: netlink.NUD_PERMANENT, IP: hop, HardwareAddr: receiver.Attrs().HardwareAddr}
		if err := hr.NeighSet(n); err != nil {
			t.Fatal(err)
		}
		if err := hr.RouteAdd(&netlink.Route{LinkIndex: out.Attrs().Index, Gw: hop, Flags: int(netlink.FLAG_ONLINK), Family: family}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the router's IPv6 addresses settle
	path := bulkTurns(t, "existing", false, 2, 500)
	rep, err := VerifyForward(context.Background(), path, fileOpener(path), ForwardOptions{Iface: "fa0", CaptureIface: "fc0", RouterMAC: in.Attrs().HardwareAddr})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != VerdictExact || rep.Exact != 1000 || rep.Router != nil {
		t.Fatalf("%+v", rep)
	}
}
