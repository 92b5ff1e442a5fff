package verify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/internal/testcap"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
	"github.com/gsoreplay/gsoreplay/replay"
	"github.com/gsoreplay/gsoreplay/replay/capture"
	"github.com/gsoreplay/gsoreplay/replay/compare"
	"github.com/gsoreplay/gsoreplay/replay/lab"
)

func requireRoot(t *testing.T, tools ...string) { t.Helper(); testenv.RequireRoot(t, tools...) }

func fileOpener(path string) replay.Opener {
	return func() (*pcaps.Reader, error) { return pcaps.Open(path) }
}

// TestVerifyKernelFixture replays the recorded kernel traffic: bulk TCP/UDP
// over IPv4/IPv6, and 4000-byte UDP datagrams in IP fragments, whose IPv4
// trains travel as UFO super-packets.
func TestVerifyKernelFixture(t *testing.T) {
	requireRoot(t)
	for _, name := range []string{"kernel-traffic", "kernel-fragments"} {
		for _, order := range []coalesce.Order{coalesce.PerFlow, coalesce.Strict} {
			for _, threads := range []int{1, 2} {
				o := Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}, Threads: threads}
				o.Source.Coalesce.Order = order
				for _, preload := range []bool{false, true} {
					o.preload = preload
					rep, err := Verify(context.Background(), name, fileOpener("../../testdata/"+name+".pcap"), o)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("%s %s %d threads, preload %v: %+v", name, order, threads, preload, *rep)
					if rep.Verdict != VerdictExact || rep.Exact != int(rep.Packets) || rep.SuperPackets == 0 || rep.Reordered != 0 {
						t.Errorf("%s %s %d threads: verdict %s: %+v", name, order, threads, rep.Verdict, rep)
					}
				}
			}
		}
	}
}

// writeFixture writes packets to a pcap under the test's directory.
func writeFixture(t *testing.T, name string, pkts []pcaps.Packet) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".pcap")
	if err := craft.WriteFile(path, pkts); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVerifyFixtures replays every crafted shape through the kernel: every
// frame that comes out must equal the original — per-flow order with one,
// two and three pipelines (threads keep the order within each connection,
// which verify checks), strict order with one — and the bulk of each must
// have travelled inside super-packets.
func TestVerifyFixtures(t *testing.T) {
	requireRoot(t)
	for _, fx := range craft.Fixtures() {
		path := writeFixture(t, fx.Name, fx.Pkts)
		for _, c := range []struct {
			order            coalesce.Order
			threads, running int
		}{{coalesce.PerFlow, 1, 1}, {coalesce.PerFlow, 2, 2}, {coalesce.PerFlow, 3, 3}, {coalesce.Strict, 2, 1}} {
			t.Run(fmt.Sprintf("%s/%s/%d", fx.Name, c.order, c.threads), func(t *testing.T) {
				o := Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}, Threads: c.threads}
				o.Source.Coalesce.Order = c.order
				rep, err := Verify(context.Background(), fx.Name, fileOpener(path), o)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Verdict != VerdictExact || rep.Exact != len(fx.Pkts) || rep.Packets != int64(len(fx.Pkts)) || rep.Reordered != 0 {
					t.Fatalf("verdict %s, %d of %d exact: %+v", rep.Verdict, rep.Exact, len(fx.Pkts), rep)
				}
				if rep.Threads != c.running {
					t.Errorf("%d pipelines ran, want %d", rep.Threads, c.running)
				}
				if rep.SuperPackets == 0 || rep.CoalescedPackets < int64(len(fx.Pkts))/2 {
					t.Errorf("only %d of %d packets went in %d super-packets", rep.CoalescedPackets, len(fx.Pkts), rep.SuperPackets)
				}
			})
		}
	}
}

// TestVerifyCatchesDifferences: an expected trace changed in one field is
// reported as mismatched, naming that field; a capture ring too small to
// keep up is reported as lost.
func TestVerifyCatchesDifferences(t *testing.T) {
	requireRoot(t)
	path := writeFixture(t, "tcpv4", craft.Fixtures()[0].Pkts)
	o := Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}}
	o.corrupt = func(pos int, e *compare.Expected) {
		// Frame 40 is a data segment: bump its IPv4 ID.
		if pos == 40 {
			e.Data[18]++
		}
	}
	rep, err := Verify(context.Background(), "corrupted", fileOpener(path), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %q", rep.Verdict, rep.Details)
	if rep.Verdict != VerdictMismatch || rep.Mismatched != 1 || len(rep.Details) == 0 || !strings.Contains(rep.Details[0], "IPv4 ID") {
		t.Errorf("corrupted expectation: verdict %s, %d mismatched, details %q", rep.Verdict, rep.Mismatched, rep.Details)
	}

	o = Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}}
	o.Capture = capture.Options{BlockSize: 4096, Blocks: 1, Stall: 300 * time.Millisecond}
	rep, err = Verify(context.Background(), "small ring", fileOpener("../../testdata/kernel-traffic.pcap"), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != VerdictLost || rep.DropsBy["capture socket"] == 0 || rep.Exact == int(rep.Packets) {
		t.Errorf("small ring: verdict %s, drops %v, %d of %d exact", rep.Verdict, rep.DropsBy, rep.Exact, rep.Packets)
	}
}

// TestVerifyTSOHost replays a capture taken on a sending host with TSO on
// (testdata/tso-host.pcap: frames up to 64 KiB with partial checksums).
// Every oversized frame must leave as the number of segments its flow's MSS
// implies, reported as normalized; everything else exact.
func TestVerifyTSOHost(t *testing.T) {
	requireRoot(t)
	const path = "../../testdata/tso-host.pcap"
	// What the MSS implies, decoded with gopacket rather than our parsers.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	mss := map[string]int{} // by destination address: what the receiver announced
	var small, oversized, segs int
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pk := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		var src, dst string
		if nl := pk.NetworkLayer(); nl != nil {
			src, dst = nl.NetworkFlow().Src().String(), nl.NetworkFlow().Dst().String()
		}
		if tcp != nil && tcp.SYN {
			for _, o := range tcp.Options {
				if o.OptionType == layers.TCPOptionKindMSS {
					mss[src] = int(binary.BigEndian.Uint16(o.OptionData))
				}
			}
		}
		if len(data)-14 <= 1500 {
			small++
			continue
		}
		oversized++
		optLen := int(tcp.DataOffset)*4 - 20
		gso := mss[dst] - optLen
		segs += (len(tcp.Payload) + gso - 1) / gso
	}
	if oversized == 0 {
		t.Fatal("the fixture holds no oversized frames")
	}
	rep, err := Verify(context.Background(), "tso-host", fileOpener(path), Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d oversized frames -> %d segments; %+v", oversized, segs, *rep)
	if rep.Verdict != VerdictNormalized || rep.Normalized != segs || rep.Exact != small || rep.SegmentsCaptured != small+segs {
		t.Errorf("verdict %s, %d normalized (want %d), %d exact (want %d), %d captured", rep.Verdict, rep.Normalized, segs, rep.Exact, small, rep.SegmentsCaptured)
	}
	for why := range rep.NormalizedWhy {
		if !strings.Contains(why, "SYN's MSS") {
			t.Errorf("gso_size not from the SYN: %s", why)
		}
	}
}

// TestVerifyBigTCPHost: BIG TCP frames captured on Linux hosts (tcpdump's
// test captures: IPv6 with payload length 0 alone, and with the Hop-by-Hop
// jumbo option Linux 6.0 to 6.19 hold it with) are sent as super-packets
// and leave as the reference segmentation, the option taken off, in as many
// segments as their TCP payload (gopacket's reading) needs at the egress
// MTU: 1500 less the IPv6 and TCP headers alone.
func TestVerifyBigTCPHost(t *testing.T) {
	requireRoot(t)
	for _, name := range []string{"tcpdump__bigtcp-ipv6.pcap", "tcpdump__bigtcp-ipv6-hbh.pcap"} {
		path := filepath.Join("../../../shared/corpus", name)
		if _, err := os.Stat(path); err != nil {
			testenv.Missing(t, "the corpus: "+err.Error())
		}
		data := testcap.Frames(t, path)[0]
		// gopacket wants the option for payload length 0: read the TCP
		// header where the IPv6 header's next header says it is.
		tcpAt := 14 + 40
		if data[14+6] == 0 {
			tcpAt += 8
		}
		pk := gopacket.NewPacket(data[tcpAt:], layers.LayerTypeTCP, gopacket.Default)
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("%s: gopacket reads no TCP header", name)
		}
		mss := 1500 - 40 - int(tcp.DataOffset)*4
		segs := (len(tcp.Payload) + mss - 1) / mss
		rep, err := Verify(context.Background(), name, fileOpener(path), Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != VerdictNormalized || rep.Normalized != segs || rep.SegmentsCaptured != segs {
			t.Errorf("%s: verdict %s, %d normalized of %d captured, want %d segments of %d bytes", name, rep.Verdict, rep.Normalized, rep.SegmentsCaptured, segs, mss)
		}
	}
}

// TestVerifyTunnelTSOHost: tcpdump's VXLAN captures from a TSO host (one
// TCP packet in VXLAN over IPv4 each, 7 KB, and 80 KB with IPv4 BIG TCP's
// zero lengths) go through a tap as UDP tunnel super-packets and leave as
// the reference tunnel segmentation, in as many segments as the inner TCP
// payload (gopacket's reading) needs at the egress MTU, 1500 less every
// header. A packet socket, which takes no tunnel header, can only send
// the frame whole, and the lab's MTU refuses it (EMSGSIZE), as it refuses
// tcpreplay.
func TestVerifyTunnelTSOHost(t *testing.T) {
	requireRoot(t)
	for _, name := range []string{"tcpdump__gso-ipv4-vxlan-ipv4.pcap", "tcpdump__bigtcp-ipv4-vxlan-ipv4.pcap"} {
		path := filepath.Join("../../../shared/corpus", name)
		if _, err := os.Stat(path); err != nil {
			testenv.Missing(t, "the corpus: "+err.Error())
		}
		data := testcap.Frames(t, path)[0]
		// Outer Ethernet, IPv4, UDP to 4789 and VXLAN; gopacket reads the
		// inner frame (not the outer headers: BIG TCP's lengths are 0).
		const inner = 14 + 20 + 8 + 8
		if binary.BigEndian.Uint16(data[36:]) != 4789 {
			t.Fatalf("%s: not VXLAN", name)
		}
		ip := gopacket.NewPacket(data[inner+14:], layers.LayerTypeIPv4, gopacket.Default).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcpAt := inner + 14 + int(ip.IHL)*4
		tcp, _ := gopacket.NewPacket(data[tcpAt:], layers.LayerTypeTCP, gopacket.Default).Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("%s: gopacket reads no inner TCP header", name)
		}
		mss := 1500 - (tcpAt - 14) - int(tcp.DataOffset)*4
		segs := (len(tcp.Payload) + mss - 1) / mss
		opts := coalesce.DefaultOptions()
		opts.TunnelGSO = true
		rep, err := Verify(context.Background(), name, fileOpener(path), Options{Via: replay.ViaTap, Source: replay.SourceOptions{Coalesce: opts}})
		if err != nil {
			t.Fatal(err)
		}
		why := fmt.Sprintf("super-frame captured whole on a TSO/GRO host: expected the reference segmentation of gso=udp_tunnel_ipv4+tcpv4 with gso_size %d from the egress MTU", mss)
		if rep.Verdict != VerdictNormalized || rep.Resegmented != 1 || rep.Normalized != segs || rep.SegmentsCaptured != segs || rep.NormalizedWhy[why] != segs {
			t.Errorf("%s via tap: verdict %s, %d resegmented, %d normalized of %d captured (%v), want %d segments of %d bytes", name, rep.Verdict, rep.Resegmented, rep.Normalized, rep.SegmentsCaptured, rep.NormalizedWhy, segs, mss)
		}
		rep, err = Verify(context.Background(), name, fileOpener(path), Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != VerdictMismatch || rep.Resegmented != 0 || rep.Missing != 1 || rep.SendFailures["EMSGSIZE"] != 1 {
			t.Errorf("%s by packet socket: verdict %s, %d resegmented, %d missing, send failures %v; want the frame refused", name, rep.Verdict, rep.Resegmented, rep.Missing, rep.SendFailures)
		}
	}
}

// ownNamespace moves the test's thread into a network namespace of its
// own until the test ends, and returns it and its netlink handle.
func ownNamespace(t *testing.T) (netns.NsHandle, *netlink.Handle) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	ns, err := netns.New()
	if err != nil {
		orig.Close()
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	h, err := netlink.NewHandle()
	// Cleanups run on the test's goroutine, still on this thread.
	t.Cleanup(func() {
		if h != nil {
			h.Close()
		}
		netns.Set(orig)
		orig.Close()
		ns.Close()
		runtime.UnlockOSThread()
	})
	if err != nil {
		t.Fatal(err)
	}
	return ns, h
}

// TestVerifyExistingInterfaces runs verify --iface/--capture-iface on a veth
// pair made here (both ends in one namespace), capturing on the receive
// side: the path used for two cabled NIC ports.
func TestVerifyExistingInterfaces(t *testing.T) {
	requireRoot(t)
	_, h := ownNamespace(t)
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "x1"}, PeerName: "x2"}); err != nil {
		t.Fatal(err)
	}
	for _, side := range []struct {
		name   string
		sender bool
	}{{"x1", true}, {"x2", false}} {
		if err := lab.Setup(h, side.name, side.sender); err != nil {
			t.Fatal(err)
		}
	}
	for _, fx := range []craft.Fixture{craft.Fixtures()[0], craft.Fixtures()[4]} { // tcpv4, vlan
		o := Options{Iface: "x1", CaptureIface: "x2", Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}}
		rep, err := Verify(context.Background(), fx.Name, fileOpener(writeFixture(t, fx.Name, fx.Pkts)), o)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != VerdictExact || rep.Exact != len(fx.Pkts) || !strings.Contains(rep.Capture, "receive side of x2") {
			t.Errorf("%s: verdict %s, %d of %d exact, capture %q, details %q", fx.Name, rep.Verdict, rep.Exact, len(fx.Pkts), rep.Capture, rep.Details)
		}
	}
}

// TestVerifyWindowLaps streams a capture four times the size of the
// smallest ring (pcaps.MinWindow) through it: super-packets are sent from
// the ring without copying, and those under way when it comes round are
// sent before it is overwritten. Every frame must still come out exact,
// with one pipeline and with two. (Without the sends before the ring comes
// round, frames come out mismatched: tried.)
func TestVerifyWindowLaps(t *testing.T) {
	requireRoot(t)
	path, pkts := lapsFixture(t)
	for _, threads := range []int{1, 2} {
		// At top speed, in batches that hold more than the ring, and with
		// runs of any span: what the ring overwrites is still queued unless
		// it comes round the right way.
		o := Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}, Threads: threads, window: pcaps.MinWindow,
			Pacing: replay.Pacing{Topspeed: true}, Batch: 256}
		o.Source.Coalesce.MaxSpan = 0
		rep, err := Verify(context.Background(), "laps", fileOpener(path), o)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != VerdictExact || rep.Exact != len(pkts) || rep.SuperPackets == 0 || rep.Reordered != 0 {
			t.Errorf("%d threads: verdict %s, %d of %d exact, %d super-packets: %+v", threads, rep.Verdict, rep.Exact, len(pkts), rep.SuperPackets, *rep)
		}
	}
}

// TestVerifyLentFramesLost: the expected frames are compared where they
// lie in the replay's ring, and a capture ring far too small loses many of
// them while that ring comes round several times. Each frame lost must be
// reported missing (taken out of the ring before it is overwritten), each
// frame captured exact: none mismatched or extra, as a comparison with
// overwritten frames would give.
func TestVerifyLentFramesLost(t *testing.T) {
	requireRoot(t)
	path, pkts := lapsFixture(t)
	o := Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}, window: pcaps.MinWindow}
	o.Capture = capture.Options{BlockSize: 4096, Blocks: 1, Stall: 300 * time.Millisecond}
	rep, err := Verify(context.Background(), "laps, small capture ring", fileOpener(path), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != VerdictLost || rep.Missing == 0 || rep.Exact+rep.Missing != len(pkts) || rep.Mismatched+rep.Extra != 0 || rep.DropsBy["capture socket"] == 0 {
		t.Errorf("verdict %s: %d exact, %d missing of %d; %d mismatched, %d extra; drops %v", rep.Verdict, rep.Exact, rep.Missing, len(pkts), rep.Mismatched, rep.Extra, rep.DropsBy)
	}
}

// lapsFixture writes kernel-traffic.pcap again and again, shifted in time,
// until it holds four times pcaps.MinWindow.
func lapsFixture(t *testing.T) (string, []pcaps.Packet) {
	r, err := pcaps.Open("../../testdata/kernel-traffic.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var once []pcaps.Packet
	var last time.Time
	err = r.Each(func(p *pcaps.Packet) error {
		q := *p
		q.Data = append([]byte(nil), p.Data...)
		once = append(once, q)
		last = p.Timestamp
		return nil
	})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	var pkts []pcaps.Packet
	size := 0
	for k := 0; size < 4*pcaps.MinWindow; k++ {
		shift := time.Duration(k) * (last.Sub(once[0].Timestamp) + time.Millisecond)
		for _, p := range once {
			p.Timestamp = p.Timestamp.Add(shift)
			pkts = append(pkts, p)
			size += 16 + len(p.Data)
		}
	}
	return writeFixture(t, "laps", pkts), pkts
}

// TestVerifyFormats: the same crafted capture as pcapng, as pcapng
// compressed with zstd and as pcap with gzip streams through the
// replay's ring (the fast path) and comes out exact, its bulk in
// super-packets. A pcapng file whose second interface, of Linux SLL, is
// declared after its first packet comes out exact too: those frames go
// alone, made Ethernet, between the Ethernet frames that still merge.
func TestVerifyFormats(t *testing.T) {
	requireRoot(t)
	fx := craft.Fixtures()[0]
	mixed := slices.Clone(fx.Pkts)
	for k := range 6 {
		f := craft.TCPBulk()
		f.LinkType, f.Sport, f.Seq = layers.LinkTypeLinuxSLL, 4000, uint32(k*1448)
		f.Timestamp = fx.Pkts[len(fx.Pkts)-1].Timestamp.Add(time.Duration(k+1) * time.Millisecond)
		p := f.Packet()
		p.Interface = 1
		mixed = append(mixed, p)
	}
	ifaces := []pcaps.Interface{{LinkType: layers.LinkTypeEthernet}, {LinkType: layers.LinkTypeLinuxSLL}}
	for _, tc := range []struct {
		name   string
		format pcaps.Format
		comp   pcaps.Compression
		pkts   []pcaps.Packet
	}{
		{"tcpv4.pcapng", pcaps.FormatPcapNG, pcaps.Uncompressed, fx.Pkts},
		{"tcpv4.pcapng.zst", pcaps.FormatPcapNG, pcaps.Zstd, fx.Pkts},
		{"tcpv4.pcap.gz", pcaps.FormatPcap, pcaps.Gzip, fx.Pkts},
		{"mixed.pcapng", pcaps.FormatPcapNG, pcaps.Uncompressed, mixed},
	} {
		path := filepath.Join(t.TempDir(), tc.name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		zw, err := pcaps.Compress(f, tc.comp)
		if err != nil {
			t.Fatal(err)
		}
		w := pcaps.NewWriter(zw, pcaps.WriterOptions{Format: tc.format, LinkType: layers.LinkTypeEthernet})
		if tc.format == pcaps.FormatPcapNG {
			w.DeclareInterfaces(ifaces)
		}
		for i := range tc.pkts {
			if err := w.Write(&tc.pkts[i], nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := errors.Join(w.Flush(), zw.Close(), f.Close()); err != nil {
			t.Fatal(err)
		}
		o := Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}}
		rep, err := Verify(context.Background(), tc.name, fileOpener(path), o)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != VerdictExact || rep.Exact != len(tc.pkts) || rep.SuperPackets == 0 {
			t.Errorf("%s: verdict %s, %d of %d exact, %d super-packets: %q", tc.name, rep.Verdict, rep.Exact, len(tc.pkts), rep.SuperPackets, rep.Details)
		}
	}
}

// TestVerifyBigTCP: BIG TCP super-packets (IPv4 total length and IPv6
// payload length 0, with the IPv6 jumbo option or not) of up to 256 KiB and up to coalesce's most (1 MiB)
// go through the kernel and come out as the original frames, byte for
// byte, for both IP versions; at the most, some need the longer linear
// part of internal/afpacket.Linear to be accepted at all.
func TestVerifyBigTCP(t *testing.T) {
	requireRoot(t)
	v6 := craft.TCPBulk6()
	const n = 800
	// The middle size of each makes super-packets of 358 and 362 segments,
	// whose pages alone would need 18 fragments.
	for _, c := range []struct {
		name  string
		base  craft.Frame
		sizes []int
		jumbo bool
	}{{"tcpv4", craft.TCPBulk(), []int{262144, 20 + 32 + 358*1448, coalesce.MaxBytesMax}, false}, {"tcpv6", v6, []int{262144, 40 + 32 + 362*1428, coalesce.MaxBytesMax}, false},
		{"tcpv6 jumbo option", v6, []int{262144, coalesce.MaxBytesMax}, true}} {
		frames := craft.Flow(c.base, n, nil)
		pkts := craft.Packets(frames)
		path := writeFixture(t, c.name, pkts)
		wire := len(pkts[0].Data) - 14
		for _, maxBytes := range c.sizes {
			t.Run(fmt.Sprintf("%s/%d", c.name, maxBytes), func(t *testing.T) {
				o := Options{Source: replay.SourceOptions{Coalesce: coalesce.DefaultOptions()}}
				o.Source.Coalesce.MaxBytes, o.Source.Coalesce.MaxSegments, o.Source.Coalesce.MaxSpan = maxBytes, coalesce.MaxSegs, 0
				o.Source.Coalesce.IPv6Jumbo = c.jumbo
				rep, err := Verify(context.Background(), c.name, fileOpener(path), o)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Verdict != VerdictExact || rep.Exact != n || rep.Packets != n {
					t.Fatalf("verdict %s, %d of %d exact: %+v", rep.Verdict, rep.Exact, n, rep)
				}
				// Each super-packet as big as maxBytes allows: its
				// payloads and one set of headers.
				perSuper := (maxBytes - (wire - len(c.base.Payload))) / len(c.base.Payload)
				if want := int64((n + perSuper - 1) / perSuper); rep.SuperPackets != want || rep.CoalescedPackets != n {
					t.Fatalf("%d super-packets holding %d packets, want %d holding %d (%d segments each)", rep.SuperPackets, rep.CoalescedPackets, want, n, perSuper)
				}
			})
		}
	}
}
