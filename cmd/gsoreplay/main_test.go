package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
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
	var sum summary
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
	var rep inspectReport
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	r, _ := pcaps.Open(fixture)
	defer r.Close()
	var n int64
	var p pcaps.Packet
	for r.Next(&p) == nil {
		n++
	}
	if rep.Packets != n || rep.IPv4+rep.IPv6+rep.NotIP != n || rep.Coalescing == nil || rep.Coalescing.SuperPackets == 0 || rep.Flows < 8 {
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

// TestSegmentRejectsRawCoalescedTwice: coalescing a coalesced file is an
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
