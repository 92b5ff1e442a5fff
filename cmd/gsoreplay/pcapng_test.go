package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce/inspect"
	"github.com/gsoreplay/gsoreplay/internal/testcap"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// ngFixtures are the pcapng files Wireshark's tools wrote
// (testdata/make-pcapng-fixtures.sh).
func ngFixtures(t *testing.T) []string {
	files, _ := filepath.Glob("../../testdata/ng-*.pcapng")
	if len(files) < 4 {
		t.Fatalf("%d pcapng fixtures in testdata", len(files))
	}
	return files
}

// cliRoundTrip runs coalesce then segment and returns both files' bytes.
func cliRoundTrip(t *testing.T, in string, args ...string) (mid, back []byte) {
	t.Helper()
	dir := t.TempDir()
	super, again := filepath.Join(dir, "super.pcapng"), filepath.Join(dir, "again"+filepath.Ext(in))
	if code, _, stderr := gsoreplay(t, nil, append(append([]string{"coalesce", "-q"}, args...), "-o", super, in)...); code != 0 {
		t.Fatalf("coalesce %s: exit %d: %s", in, code, stderr)
	}
	if code, _, stderr := gsoreplay(t, nil, "segment", "-q", "-o", again, super); code != 0 {
		t.Fatalf("segment: exit %d: %s", code, stderr)
	}
	mid, _ = os.ReadFile(super)
	back, _ = os.ReadFile(again)
	return mid, back
}

// TestPcapngSegmentOfCoalesceIsTheFile: through the CLI, the pcapng files
// other tools wrote come back byte for byte (cmp), in both orders.
func TestPcapngSegmentOfCoalesceIsTheFile(t *testing.T) {
	for _, in := range ngFixtures(t) {
		orig, _ := os.ReadFile(in)
		for _, order := range []string{"per-flow", "strict"} {
			mid, back := cliRoundTrip(t, in, "--order", order)
			if !bytes.Equal(back, orig) {
				t.Errorf("%s %s: segment(coalesce(x)) differs from x (%d vs %d bytes)", filepath.Base(in), order, len(back), len(orig))
			}
			if len(mid) >= len(orig) {
				t.Errorf("%s %s: the coalesced file (%d bytes) is not smaller than the capture (%d): nothing merged?", filepath.Base(in), order, len(mid), len(orig))
			}
		}
	}
}

// TestCapturedBeyondLength: a pcap record whose captured length exceeds its
// original length (tcpdump and Wireshark read it) passes through unchanged
// and inspect names it.
func TestCapturedBeyondLength(t *testing.T) {
	pkts := craft.Packets(craft.Flow(craft.TCPBulk(), 6, nil))
	var file []byte
	file = binary.LittleEndian.AppendUint32(file, 0xa1b2c3d4)
	file = binary.LittleEndian.AppendUint16(file, 2)
	file = binary.LittleEndian.AppendUint16(file, 4)
	file = append(file, make([]byte, 8)...)
	file = binary.LittleEndian.AppendUint32(file, 262144)
	file = binary.LittleEndian.AppendUint32(file, 1)
	for i, p := range pkts {
		orig := uint32(len(p.Data))
		if i == 3 {
			orig = 60 // captured 1514 of "60" bytes
		}
		file = binary.LittleEndian.AppendUint32(file, 1_700_000_000)
		file = binary.LittleEndian.AppendUint32(file, uint32(i*10))
		file = binary.LittleEndian.AppendUint32(file, uint32(len(p.Data)))
		file = binary.LittleEndian.AppendUint32(file, orig)
		file = append(file, p.Data...)
	}
	in := filepath.Join(t.TempDir(), "odd.pcap")
	os.WriteFile(in, file, 0o644)
	_, back := cliRoundTrip(t, in)
	if !bytes.Equal(back, file) {
		t.Fatalf("segment(coalesce(x)) differs from x (%d vs %d bytes)", len(back), len(file))
	}
	code, js, stderr := gsoreplay(t, nil, "inspect", "--json", in)
	if code != 0 {
		t.Fatalf("inspect: %d %s", code, stderr)
	}
	var rep inspect.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Metadata.CapturedOverOriginal != 1 || rep.Coalescing.Refused["over_wire"] != 1 {
		t.Fatalf("metadata %+v, refused %v", rep.Metadata, rep.Coalescing.Refused)
	}
	if _, table, _ := gsoreplay(t, nil, "inspect", in); !strings.Contains(table, "captured length above the original 1") {
		t.Fatalf("inspect does not name the oddity:\n%s", table)
	}
}

// tshark runs Wireshark's tshark, the reader users open these files with.
func tshark(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	sort.Strings(lines)
	return lines
}

// TestTsharkSeesTheMetadata: Wireshark reads the coalesced file with the
// capture's comments, interfaces, names and secrets: it decrypts the TLS
// download with the keys the file carries.
func TestTsharkSeesTheMetadata(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark missing in CI (.ci/run installs it)")
		}
		t.Skip("tshark not installed")
	}
	for _, in := range ngFixtures(t) {
		dir := t.TempDir()
		super := filepath.Join(dir, "super.pcapng")
		if code, _, stderr := gsoreplay(t, nil, "coalesce", "-q", "-o", super, in); code != 0 {
			t.Fatalf("coalesce: %s", stderr)
		}
		name := filepath.Base(in)
		for _, view := range []struct {
			what string
			args []string
			// drop leaves out what coalescing adds: the vnet comments.
			drop func(string) bool
		}{
			{"packet comments", []string{"-T", "fields", "-e", "frame.comment"}, func(s string) bool { return strings.HasPrefix(s, "vnet ") }},
			{"interfaces", []string{"-T", "fields", "-e", "frame.interface_name", "-e", "frame.interface_description"}, nil},
			{"names", []string{"-q", "-z", "hosts"}, func(s string) bool { return strings.HasPrefix(s, "#") }},
			{"direction flags", []string{"-T", "fields", "-e", "frame.packet_flags_direction"}, nil},
			{"decrypted HTTP", []string{"-Y", "http", "-T", "fields", "-e", "http.request.uri", "-e", "http.response.code"}, nil},
		} {
			want := uniq(tshark(t, append([]string{"-r", in}, view.args...)...), view.drop)
			got := uniq(tshark(t, append([]string{"-r", super}, view.args...)...), view.drop)
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s: %s: tshark shows %q in the coalesced file, %q in the capture", name, view.what, got, want)
			}
		}
		// The capture's own section comments and applications, after the
		// origin comment.
		wantInfo := capinfo(t, in)
		gotInfo := capinfo(t, super)
		if len(gotInfo) == 0 || !strings.Contains(strings.Join(gotInfo, "|"), "gsoreplay source format=pcapng") {
			t.Errorf("%s: capinfos shows no origin comment: %q", name, gotInfo)
		}
		for _, w := range wantInfo {
			if !contains(gotInfo, w) {
				t.Errorf("%s: capinfos lost %q", name, w)
			}
		}
	}
	// The secrets are what decrypts: without their block nothing does.
	tls, _ := os.ReadFile("../../testdata/ng-tls.pcapng")
	bare := filepath.Join(t.TempDir(), "bare.pcapng")
	noSecrets, _ := testcap.WithoutBlocks(tls, 0x0A) // editcap 4.0's --discard-all-secrets refuses such a file
	os.WriteFile(bare, noSecrets, 0o644)
	if got := tshark(t, "-r", bare, "-Y", "http"); len(got) != 1 || got[0] != "" {
		t.Fatalf("HTTP decrypted without the secrets: %q", got)
	}
	if got := tshark(t, "-r", "../../testdata/ng-tls.pcapng", "-Y", "http"); len(got) == 0 || got[0] == "" {
		t.Fatalf("the fixture's TLS does not decrypt: %q", got)
	}
}

// uniq is the sorted set of lines, without those drop says to leave out;
// coalescing changes how many packets carry a value, not which values.
func uniq(lines []string, drop func(string) bool) []string {
	var out []string
	for i, l := range lines {
		if drop != nil && drop(l) || i > 0 && l == lines[i-1] {
			continue
		}
		out = append(out, l)
	}
	return out
}

// capinfo is what capinfos says of the sections and interfaces.
func capinfo(t *testing.T, path string) []string {
	out, err := exec.Command("capinfos", "-k", "-a", "-e", "-I", path).Output()
	if err != nil {
		// Older capinfos have no -I: the default report says enough.
		out, _ = exec.Command("capinfos", path).Output()
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		for _, key := range []string{"Capture comment", "Capture hardware", "Capture oper-sys", "Capture application", "Name =", "Description =", "Time precision"} {
			if strings.HasPrefix(l, key) {
				keep = append(keep, l)
			}
		}
	}
	return keep
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
