package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/zstd"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/inspect"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

const fixture = "../../testdata/kernel-traffic.pcap"

func gsoreplay(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if stdin != nil {
		f, err := os.CreateTemp(t.TempDir(), "stdin")
		if err != nil {
			t.Fatal(err)
		}
		f.Write(stdin)
		f.Seek(0, 0)
		old := os.Stdin
		os.Stdin = f
		defer func() { os.Stdin = old; f.Close() }()
	}
	code = run(append([]string{"gsoreplay"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestSegmentOfCoalesceIsTheFile: the CLI round trip gives back the very
// file tcpdump wrote, byte for byte, in both orders.
func TestSegmentOfCoalesceIsTheFile(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, order := range []string{"per-flow", "strict"} {
		super, back := filepath.Join(dir, order+".pcapng"), filepath.Join(dir, order+".pcap")
		if code, _, stderr := gsoreplay(t, nil, "coalesce", "--order", order, "-o", super, fixture); code != 0 {
			t.Fatalf("coalesce: exit %d: %s", code, stderr)
		}
		if code, _, stderr := gsoreplay(t, nil, "segment", "-o", back, super); code != 0 {
			t.Fatalf("segment: exit %d: %s", code, stderr)
		}
		got, _ := os.ReadFile(back)
		if !bytes.Equal(got, orig) {
			t.Fatalf("%s: segment(coalesce(x)) differs from x (%d vs %d bytes)", order, len(got), len(orig))
		}
		if fi, _ := os.Stat(super); fi.Size() == 0 {
			t.Fatal("empty coalesced file")
		}
	}
}

// TestStdinStdout: "-" reads standard input and writes standard output.
func TestStdinStdout(t *testing.T) {
	orig, _ := os.ReadFile(fixture)
	code, super, stderr := gsoreplay(t, orig, "coalesce", "-q", "-o", "-", "-")
	if code != 0 {
		t.Fatalf("coalesce: %d %s", code, stderr)
	}
	code, back, stderr := gsoreplay(t, []byte(super), "segment", "-q", "-o", "-", "-")
	if code != 0 {
		t.Fatalf("segment: %d %s", code, stderr)
	}
	if back != string(orig) {
		t.Fatalf("round trip through pipes differs")
	}
}

// TestCoalesceFormat: the coalesced file is pcapng whose super-packets carry
// a parseable vnet comment and whose segment counts add up to the input.
func TestCoalesceFormat(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.pcapng")
	code, js, stderr := gsoreplay(t, nil, "coalesce", "--json", "-o", out, fixture)
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	var sum coalesce.Summary
	if err := json.Unmarshal([]byte(js), &sum); err != nil {
		t.Fatalf("JSON: %v\n%s", err, js)
	}
	r, err := pcaps.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Format() != pcaps.FormatPcapNG {
		t.Fatalf("format %v", r.Format())
	}
	var p pcaps.Packet
	m := coalesce.Meta{Segs: 1}
	var records, supers, segs int64
	for r.Next(&p) == nil {
		records++
		ok, err := coalesce.ParseComment(p.Comment, &m)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			supers++
		}
		segs += int64(m.Segs)
		m.Segs = 1
	}
	if records != sum.Records || supers != sum.SuperPackets || segs != sum.Packets || sum.Coalesced < sum.Packets/2 {
		t.Errorf("file: %d records, %d super, %d packets; summary %+v", records, supers, segs, sum)
	}
}

func TestInspectJSON(t *testing.T) {
	code, js, stderr := gsoreplay(t, nil, "inspect", "--json", fixture)
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	var rep inspect.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	// Count independently with gopacket: packets, IP versions, protocols.
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	src, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var n, v4, v6, tcp, udp int64
	for {
		b, _, err := src.ReadPacketData()
		if err != nil {
			break
		}
		n++
		p := gopacket.NewPacket(b, src.LinkType(), gopacket.NoCopy)
		switch {
		case p.Layer(layers.LayerTypeIPv4) != nil:
			v4++
		case p.Layer(layers.LayerTypeIPv6) != nil:
			v6++
		}
		switch {
		case p.Layer(layers.LayerTypeTCP) != nil:
			tcp++
		case p.Layer(layers.LayerTypeUDP) != nil:
			udp++
		}
	}
	if rep.Packets != n || rep.IPv4 != v4 || rep.IPv6 != v6 || rep.NotIP != n-v4-v6 || rep.TCP != tcp || rep.UDP != udp {
		t.Errorf("report: %d packets, IPv4 %d, IPv6 %d, not IP %d, TCP %d, UDP %d; gopacket: %d, %d, %d, %d, %d, %d",
			rep.Packets, rep.IPv4, rep.IPv6, rep.NotIP, rep.TCP, rep.UDP, n, v4, v6, n-v4-v6, tcp, udp)
	}
	if rep.Coalescing == nil || rep.Coalescing.SuperPackets == 0 || rep.Flows < 8 {
		t.Errorf("report %+v", rep)
	}
	// The human table says the same numbers.
	_, table, _ := gsoreplay(t, nil, "inspect", fixture)
	for _, want := range []string{"merge ratio", "super-packets", "not mergeable", "runs ended by"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// TestExitCodes: 0 success, 1 failure, 2 bad usage; errors are one line
// naming the file and the place.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "cut.pcap")
	orig, _ := os.ReadFile(fixture)
	os.WriteFile(corrupt, orig[:5003], 0o644) // inside a record
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a capture at all"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, ""},
		{[]string{"coalesce", "--help"}, 0, ""},
		{[]string{"coalesce", fixture}, 2, "missing -o OUT"},
		{[]string{"coalesce", "-o", filepath.Join(dir, "x")}, 2, "missing input"},
		{[]string{"coalesce", "-o", filepath.Join(dir, "x"), "a", "b"}, 2, "one input"},
		{[]string{"coalesce", "--order", "random", "-o", filepath.Join(dir, "x"), fixture}, 2, "--order"},
		{[]string{"coalesce", "--max-segments", "0", "-o", filepath.Join(dir, "x"), fixture}, 2, "--max-segments"},
		{[]string{"coalesce", "--no-such-flag", fixture}, 2, "no-such-flag"},
		{[]string{"coalesce", "--enet-dmac", "00:11:22", "-o", filepath.Join(dir, "x"), fixture}, 2, "--enet-dmac"},
		{[]string{"coalesce", "--pnat", "10.0.0.0/33:1.0.0.0/8", "-o", filepath.Join(dir, "x"), fixture}, 2, "--pnat"},
		{[]string{"coalesce", "--portmap", "80", "-o", filepath.Join(dir, "x"), fixture}, 2, "--portmap"},
		{[]string{"coalesce", "--enet-vlan", "add", "-o", filepath.Join(dir, "x"), fixture}, 2, "--enet-vlan add needs a tag"},
		{[]string{"coalesce", "--enet-vlan-tag", "3", "-o", filepath.Join(dir, "x"), fixture}, 2, "need --enet-vlan"},
		{[]string{"coalesce", "--mtu-trunc", "-o", filepath.Join(dir, "x"), fixture}, 2, "--mtu-trunc"},
		{[]string{"coalesce", "--mtu", "900", "-o", filepath.Join(dir, "x"), fixture}, 2, "--mtu"},
		{[]string{"frobnicate"}, 2, "no command"},
		{[]string{"segment", "--format", "xml", "-o", "-", fixture}, 2, "--format"},
		{[]string{"inspect", filepath.Join(dir, "missing.pcap")}, 1, "missing.pcap"},
		{[]string{"inspect", text}, 1, "notes.txt: magic"},
		{[]string{"inspect", corrupt}, 1, "cut.pcap: packet"},
		{[]string{"coalesce", "-o", filepath.Join(dir, "y.pcapng"), corrupt}, 1, "cut.pcap: packet"},
	} {
		code, _, stderr := gsoreplay(t, nil, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, code, tc.code, stderr)
		}
		if tc.want != "" && (!strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0) {
			t.Errorf("%v: stderr %q, want one line with %q", tc.args, stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "y.pcapng")); err == nil {
		t.Errorf("a failed coalesce left its partial output behind")
	}
}

// TestCoalesceTwice: coalescing a coalesced file is an
// error that says what to do.
func TestCoalesceTwice(t *testing.T) {
	dir := t.TempDir()
	s := filepath.Join(dir, "s.pcapng")
	gsoreplay(t, nil, "coalesce", "-q", "-o", s, fixture)
	code, _, stderr := gsoreplay(t, nil, "coalesce", "-o", filepath.Join(dir, "t.pcapng"), s)
	if code != 1 || !strings.Contains(stderr, "already coalesced") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// TestCoalesceVnet: --format vnet writes the documented records; segment
// reads them back into the original frames (strict order: in the original
// order; per-flow: each flow's frames in its order), and coalesce refuses
// them as input; link types a tap or tun cannot take are refused.
func TestCoalesceVnet(t *testing.T) {
	dir := t.TempDir()
	orig := framesOf(t, fixture)
	for _, order := range []string{"strict", "per-flow"} {
		vnet, back := filepath.Join(dir, order+".vnet"), filepath.Join(dir, order+".pcap")
		code, js, stderr := gsoreplay(t, nil, "coalesce", "--format", "vnet", "--order", order, "--json", "-o", vnet, fixture)
		if code != 0 {
			t.Fatalf("coalesce: exit %d: %s", code, stderr)
		}
		var sum coalesce.Summary
		if err := json.Unmarshal([]byte(js), &sum); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(vnet)
		if !bytes.HasPrefix(raw, []byte("GSOVNET1\x0a\x00\x01\x00")) {
			t.Fatalf("file header % x", raw[:min(16, len(raw))])
		}
		records, supers := 0, 0
		for off := 16; off < len(raw); records++ {
			n := int(binary.LittleEndian.Uint32(raw[off:]))
			if raw[off+4+1] != 0 { // gso_type
				supers++
			}
			off += 4 + n
		}
		if int64(records) != sum.Records || int64(supers) != sum.SuperPackets || supers == 0 {
			t.Errorf("%d records, %d with a gso_type; summary %d, %d", records, supers, sum.Records, sum.SuperPackets)
		}
		if code, _, stderr := gsoreplay(t, nil, "segment", "-o", back, vnet); code != 0 {
			t.Fatalf("segment: exit %d: %s", code, stderr)
		}
		got := framesOf(t, back)
		if len(got) != len(orig) {
			t.Fatalf("%s: %d frames back, want %d", order, len(got), len(orig))
		}
		if order == "strict" {
			for i := range orig {
				if got[i] != orig[i] {
					t.Fatalf("strict: frame %d differs", i)
				}
			}
		} else if !sameFlows(orig, got) {
			t.Errorf("per-flow: frames differ from the original's within a flow")
		}
		if code, _, stderr := gsoreplay(t, nil, "coalesce", "-o", filepath.Join(dir, "again.pcapng"), vnet); code != 1 || !strings.Contains(stderr, "already coalesced") {
			t.Errorf("coalesce of a vnet file: exit %d: %s", code, stderr)
		}
	}
	sll := filepath.Join(dir, "sll.pcap")
	p := craft.TCPBulk()
	p.LinkType = layers.LinkTypeLinuxSLL
	if err := craft.WriteFile(sll, craft.Packets([]craft.Frame{p})); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := gsoreplay(t, nil, "coalesce", "--format", "vnet", "-o", filepath.Join(dir, "sll.vnet"), sll); code != 1 || !strings.Contains(stderr, "Ethernet (tap) or raw IP (tun)") {
		t.Errorf("SLL to vnet: exit %d: %s", code, stderr)
	}
	if code, _, stderr := gsoreplay(t, nil, "coalesce", "--format", "pcap", "-o", filepath.Join(dir, "x"), fixture); code != 2 || !strings.Contains(stderr, "want pcapng or vnet") {
		t.Errorf("--format pcap: exit %d: %s", code, stderr)
	}
}

// framesOf reads the frames of a capture as strings, in order.
func framesOf(t *testing.T, path string) []string {
	t.Helper()
	r, err := pcaps.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	if err := r.Each(func(p *pcaps.Packet) error { out = append(out, string(p.Data)); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameFlows reports whether a and b hold the same frames and every flow's
// frames come in the same order in both.
func sameFlows(a, b []string) bool {
	split := func(fs []string) map[coalesce.Flow][]string {
		m := map[coalesce.Flow][]string{}
		for _, f := range fs {
			k, _ := coalesce.FlowOf([]byte(f), layers.LinkTypeEthernet, 0)
			m[k] = append(m[k], f)
		}
		return m
	}
	ma, mb := split(a), split(b)
	if len(ma) != len(mb) {
		return false
	}
	for k, fa := range ma {
		fb := mb[k]
		if len(fa) != len(fb) {
			return false
		}
		for i := range fa {
			if fa[i] != fb[i] {
				return false
			}
		}
	}
	return true
}

// TestCompressedRoundTrip: coalesce writes zstd for a .zst output, gzip
// when asked (--compress, also to standard output), none for .pcapng;
// the streams decompress (the standard library's gzip, klauspost's zstd;
// not gsoreplay's reader)
// to the uncompressed output byte for byte, and segment reads them back
// (by magic, whatever the name) to the very file coalesced.
func TestCompressedRoundTrip(t *testing.T) {
	dir := t.TempDir()
	orig, _ := os.ReadFile(fixture)
	plain := filepath.Join(dir, "plain.pcapng")
	if code, _, stderr := gsoreplay(t, nil, "coalesce", "-q", "-o", plain, fixture); code != 0 {
		t.Fatalf("coalesce: %d %s", code, stderr)
	}
	want, _ := os.ReadFile(plain)
	zstdOf := func(b []byte) ([]byte, error) {
		d, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return io.ReadAll(d)
	}
	gzipOf := func(b []byte) ([]byte, error) {
		d, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(d)
	}
	for _, tc := range []struct {
		out    string
		args   []string
		decode func([]byte) ([]byte, error)
	}{
		{"super.pcapng.zst", nil, zstdOf},
		{"super.pcapng", []string{"--compress", "gzip"}, gzipOf},
		{"-", []string{"--compress", "zstd"}, zstdOf},
	} {
		out := tc.out
		if out != "-" {
			out = filepath.Join(dir, tc.out)
		}
		code, stdout, stderr := gsoreplay(t, nil, append(append([]string{"coalesce", "-q", "-o", out}, tc.args...), fixture)...)
		if code != 0 {
			t.Fatalf("%s %v: %d %s", tc.out, tc.args, code, stderr)
		}
		data := []byte(stdout)
		if out != "-" {
			data, _ = os.ReadFile(out)
		}
		got, err := tc.decode(data)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s %v: decompressed %d bytes (%v), the plain output %d", tc.out, tc.args, len(got), err, len(want))
		}
		in := filepath.Join(dir, "in")
		os.WriteFile(in, data, 0o644)
		back := filepath.Join(dir, "back.pcap")
		if code, _, stderr := gsoreplay(t, nil, "segment", "-q", "-o", back, in); code != 0 {
			t.Fatalf("segment of %s: %d %s", tc.out, code, stderr)
		}
		if got, _ := os.ReadFile(back); !bytes.Equal(got, orig) {
			t.Fatalf("segment of %s differs from the file coalesced", tc.out)
		}
	}
	if code, _, stderr := gsoreplay(t, nil, "coalesce", "--compress", "lz4", "-o", filepath.Join(dir, "x"), fixture); code != 2 || !strings.Contains(stderr, "--compress") {
		t.Errorf("--compress lz4: exit %d, %q", code, stderr)
	}
}

// buildBinary builds the command into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "gsoreplay")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	return bin
}
