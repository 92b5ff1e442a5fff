package rewrite_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"
	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
	"github.com/gsoreplay/gsoreplay/internal/testcap"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// tcprewrites are the peers whose output is the oracle: Debian's and 4.6.
func tcprewrites(t *testing.T) map[string]string {
	out := map[string]string{}
	if p, err := exec.LookPath("tcprewrite"); err == nil {
		out["4.4"] = p
	}
	if p := "../../../shared/anchors/tcpreplay-4.6/bin/tcprewrite"; fileExists(p) {
		out["4.6"] = p
	}
	if len(out) < 2 && os.Getenv("CI") == "true" {
		t.Fatalf("tcprewrite missing in CI: %v", out)
	}
	if len(out) == 0 {
		t.Skip("no tcprewrite")
	}
	return out
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// parseFlags builds Options from tcprewrite flags (--name=value).
func parseFlags(t *testing.T, flags []string) rewrite.Options {
	t.Helper()
	o := rewrite.Options{VLANTag: -1, VLANPri: -1, VLANCFI: -1}
	for _, f := range flags {
		name, v, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		var err error
		switch name {
		case "enet-dmac":
			o.DstMAC, err = rewrite.ParseMACs("DstMAC", v)
		case "enet-smac":
			o.SrcMAC, err = rewrite.ParseMACs("SrcMAC", v)
		case "pnat":
			o.PNAT[0], err = rewrite.ParseCIDRMaps("PNAT", v)
		case "srcipmap":
			o.SrcIPMap, err = rewrite.ParseCIDRMaps("SrcIPMap", v)
		case "dstipmap":
			o.DstIPMap, err = rewrite.ParseCIDRMaps("DstIPMap", v)
		case "portmap":
			o.PortMap, err = rewrite.ParsePortMaps(v)
		case "ttl":
			o.TTL, o.TTLValue, err = rewrite.ParseTTL(v)
		case "fixcsum":
			o.FixCsum = true
		case "mtu":
			o.MTU, err = strconv.Atoi(v)
		case "mtu-trunc":
			o.MTUTrunc = true
		case "enet-vlan":
			o.VLAN, err = rewrite.ParseVLANMode(v)
		case "enet-vlan-tag":
			o.VLANTag, err = strconv.Atoi(v)
		case "enet-vlan-pri":
			o.VLANPri, err = strconv.Atoi(v)
		case "enet-vlan-cfi":
			o.VLANCFI, err = strconv.Atoi(v)
		default:
			t.Fatalf("flag %s not in the table's parser", name)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// TestFrameIsTcprewrite: for real kernel traffic (TCP and UDP, IPv4 and
// IPv6, ARP) and each row of flags, every frame Frame makes is byte for byte
// the frame tcprewrite writes with the same flags.
func TestFrameIsTcprewrite(t *testing.T) {
	peers := tcprewrites(t)
	plain := "../../testdata/kernel-traffic.pcap"
	// A VLAN-tagged capture (802.1Q interfaces do not work here): the
	// kernel traffic with tag 7, priority 3, made by tcprewrite 4.6.
	tagged := filepath.Join(t.TempDir(), "tagged.pcap")
	if bin, ok := peers["4.6"]; ok {
		if msg, err := exec.Command(bin, "--enet-vlan=add", "--enet-vlan-tag=7", "--enet-vlan-pri=3", "-i", plain, "-o", tagged).CombinedOutput(); err != nil {
			t.Fatalf("tagging: %v %s", err, msg)
		}
	}
	frags := "../../testdata/kernel-fragments.pcap"
	for _, row := range []struct {
		in    string
		flags []string
		// quirk, where tcprewrite is wrong, gives the expectation computed
		// here instead (nil: tcprewrite's frame).
		quirk func(orig []byte) []byte
	}{
		{plain, []string{"--enet-dmac=02:11:22:33:44:55"}, nil},
		{plain, []string{"--enet-smac=02:aa:bb:cc:dd:ee", "--enet-dmac=02:11:22:33:44:55"}, nil},
		{plain, []string{"--pnat=10.99.0.0/24:192.168.7.0/24"}, nil},
		{plain, []string{"--pnat=10.99.0.1/32:172.16.5.9/32,10.99.0.0/16:10.200.0.0/16"}, nil},
		{plain, []string{"--srcipmap=10.99.0.1/32:192.0.2.1/32"}, nil},
		{plain, []string{"--dstipmap=10.99.0.0/24:198.51.100.0/24"}, nil},
		{plain, []string{"--portmap=5201:8080"}, nil},
		{plain, []string{"--portmap=1-5200:7000"}, nil},
		{plain, []string{"--ttl=17"}, nil},
		{plain, []string{"--ttl=+3"}, nil},
		{plain, []string{"--ttl=-60"}, nil},
		{plain, []string{"--fixcsum"}, nil},
		{plain, []string{"--pnat=[fd00:99::/64]:[2001:db8:7::/64]"}, nil},
		{plain, []string{"--pnat=10.99.0.0/24:192.168.7.0/24", "--portmap=5201:9999", "--ttl=33", "--enet-dmac=02:11:22:33:44:55"}, nil},
		{plain, []string{"--enet-vlan=add", "--enet-vlan-tag=42", "--enet-vlan-pri=5", "--enet-vlan-cfi=1"}, nil},
		{tagged, []string{"--enet-vlan=del"}, nil},
		{tagged, []string{"--pnat=10.99.0.0/24:192.168.7.0/24", "--ttl=+1"}, nil},
		{frags, []string{"--pnat=10.99.0.0/24:192.168.7.0/24,[fd00:99::/64]:[2001:db8:7::/64]"}, nil},
		{plain, []string{"--mtu=1000", "--mtu-trunc"}, nil},
		{plain, []string{"--mtu-trunc", "--pnat=10.99.0.0/24:192.168.7.0/24"}, nil},
		// tcprewrite maps "ports" in IPv4 fragments after the first too,
		// overwriting four bytes of payload; the right frame is the
		// original.
		{frags, []string{"--portmap=1-65535:4000"}, func(orig []byte) []byte {
			if isIPv6(orig) || len(orig) < 34 || orig[12] != 0x08 || orig[13] != 0x00 || binary.BigEndian.Uint16(orig[20:22])&0x1fff == 0 {
				return nil
			}
			return orig
		}},
		// tcprewrite "fixes" the checksum of every IPv6 fragment after a
		// hop-limit change as if it were a whole TCP segment, writing into
		// the payload; the right frame is the original with its hop limit.
		{frags, []string{"--ttl=9"}, func(orig []byte) []byte {
			if !isIPv6(orig) || len(orig) < 14+40 || orig[14+6] != 44 { // not a fragment
				return nil
			}
			want := append([]byte(nil), orig...)
			want[14+7] = 9
			return want
		}},
	} {
		if !fileExists(row.in) {
			continue // no 4.6 to tag with
		}
		orig := testcap.Frames(t, row.in)
		rw, err := rewrite.New(parseFlags(t, row.flags))
		if err != nil {
			t.Fatal(err)
		}
		for ver, bin := range peers {
			t.Run(ver+" "+filepath.Base(row.in)+" "+strings.Join(row.flags, " "), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out.pcap")
				cmd := exec.Command(bin, append(row.flags, "-i", row.in, "-o", out)...)
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", bin, err, msg)
				}
				want := testcap.Frames(t, out)
				if len(want) != len(orig) {
					t.Fatalf("tcprewrite wrote %d frames of %d", len(want), len(orig))
				}
				bad, v6, quirks := 0, 0, 0
				for i, f := range orig {
					if ver == "4.4" && isIPv6(f) {
						// Debian's 4.4 gives every IPv6 frame the
						// destination 33:33:00:00:00:0x: compared with 4.6
						// instead.
						v6++
						continue
					}
					got, _ := rw.Frame(append([]byte(nil), f...), 1, len(f), rewrite.Primary)
					expect := want[i]
					if row.quirk != nil {
						if q := row.quirk(f); q != nil {
							expect = q
							quirks++
						}
					}
					if !bytes.Equal(got, expect) {
						if bad < 3 {
							t.Errorf("frame %d (%d bytes): differs from the expectation at byte %d", i+1, len(f), diffAt(got, expect))
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("%d of %d frames differ", bad, len(orig))
				}
				if v6 == len(orig) {
					t.Fatal("nothing compared")
				}
				if row.quirk != nil && quirks == 0 && ver == "4.6" {
					t.Error("the quirk row met no frame it is about")
				}
			})
		}
	}
}

// TestVLANEdit: --enet-vlan=edit (gsoreplay's; tcprewrite has add and del
// only) changes the given fields of the outer tag and nothing else.
func TestVLANEdit(t *testing.T) {
	frame := []byte{
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, // MACs
		0x81, 0x00, 0x60, 0x07, // 802.1Q: priority 3, tag 7
		0x08, 0x06, 0xaa, 0xbb, // ARP, a little of it
	}
	for _, tc := range []struct {
		tag, pri, cfi int
		tci           uint16
	}{
		{99, -1, -1, 3<<13 | 99},
		{-1, 6, -1, 6<<13 | 7},
		{-1, -1, 1, 3<<13 | 1<<12 | 7},
		{4095, 0, 0, 4095},
	} {
		rw, err := rewrite.New(rewrite.Options{VLAN: rewrite.VLANEdit, VLANTag: tc.tag, VLANPri: tc.pri, VLANCFI: tc.cfi})
		if err != nil {
			t.Fatal(err)
		}
		got, wire := rw.Frame(frame, 1, len(frame), rewrite.Primary)
		want := append([]byte(nil), frame...)
		want[14], want[15] = byte(tc.tci>>8), byte(tc.tci)
		if !bytes.Equal(got, want) || wire != len(frame) {
			t.Errorf("tag %d pri %d cfi %d: % x, want % x", tc.tag, tc.pri, tc.cfi, got[12:16], want[12:16])
		}
	}
}

// isIPv6 reports an Ethernet frame carrying IPv6, tagged or not.
func isIPv6(f []byte) bool {
	at := 12
	for len(f) >= at+2 && (f[at] == 0x81 && f[at+1] == 0x00 || f[at] == 0x88 && f[at+1] == 0xa8) {
		at += 4
	}
	return len(f) >= at+2 && f[at] == 0x86 && f[at+1] == 0xdd
}

func diffAt(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestSuperPacketsAreTcprewrite: rewritten as records after coalescing
// (super-packets once, their headers only), the capture segments back into
// exactly the frames tcprewrite 4.6 writes; the merges are those of the
// original frames.
func TestSuperPacketsAreTcprewrite(t *testing.T) {
	bin, ok := tcprewrites(t)["4.6"]
	if !ok {
		t.Skip("no tcprewrite 4.6")
	}
	in := "../../testdata/kernel-traffic.pcap"
	data, _ := os.ReadFile(in)
	plain, _ := coalesceThenSegment(t, data, nil)
	for _, flags := range [][]string{
		{"--pnat=10.99.0.0/24:192.168.7.0/24,[fd00:99::/64]:[2001:db8:7::/64]", "--portmap=5201:9999", "--ttl=33", "--enet-dmac=02:11:22:33:44:55"},
		{"--enet-vlan=add", "--enet-vlan-tag=42", "--enet-vlan-pri=5"},
		{"--srcipmap=10.99.0.1/32:192.0.2.1/32", "--ttl=-3", "--fixcsum"},
	} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.pcap")
			if msg, err := exec.Command(bin, append(flags, "-i", in, "-o", out)...).CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, msg)
			}
			want := testcap.Frames(t, out)
			rw, err := rewrite.New(parseFlags(t, flags))
			if err != nil {
				t.Fatal(err)
			}
			st, back := coalesceThenSegment(t, data, rw)
			if st.SuperPackets != plain.SuperPackets || st.Merged != plain.Merged {
				t.Fatalf("%d super-packets of %d packets, without rewriting %d of %d", st.SuperPackets, st.Merged, plain.SuperPackets, plain.Merged)
			}
			got := testcap.Frames(t, back)
			if len(got) != len(want) {
				t.Fatalf("%d frames, tcprewrite %d", len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("frame %d: differs from tcprewrite at byte %d", i+1, diffAt(got[i], want[i]))
				}
			}
		})
	}
}

// coalesceThenSegment coalesces data with rw editing the records (nil: no
// edit) and segments the result into a pcap file it returns the path of.
func coalesceThenSegment(t *testing.T, data []byte, rw *rewrite.Rewriter) (*coalesce.Stats, string) {
	t.Helper()
	r, err := pcaps.NewReader(bytes.NewReader(data), "in.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var mid bytes.Buffer
	w := pcaps.NewWriter(&mid, pcaps.WriterOptions{Format: pcaps.FormatPcapNG, Comment: capfile.OriginOf(r).String()})
	var edits []func(*coalesce.Record)
	if rw != nil {
		edits = append(edits, func(rec *coalesce.Record) { rw.Record(rec, rewrite.Primary) })
	}
	st, err := capfile.Coalesce(r, w, coalesce.DefaultOptions(), nil, edits...)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := pcaps.NewReader(bytes.NewReader(mid.Bytes()), "mid")
	if err != nil {
		t.Fatal(err)
	}
	origin, _ := capfile.ParseOrigin(cr.SectionComment())
	path := filepath.Join(t.TempDir(), "back.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := pcaps.NewWriter(f, pcaps.WriterOptions{Format: origin.Format, Nanosecond: origin.Nanosecond, SnapLen: origin.SnapLen})
	if _, err := capfile.Restore(cr, bw, nil); err != nil {
		t.Fatal(err)
	}
	return st, path
}
