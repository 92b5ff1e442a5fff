package main

import (
	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestInputsGetReadAdvice: every command opens its input capture through
// pcaps' opener, which gives a file the kernel's read advice
// (POSIX_FADV_SEQUENTIAL and FADV_NOREUSE): seen by strace in the
// syscalls of the built command, on the input file itself. Replay and
// verify are given interfaces that do not exist: they open (and check) the
// input before anything else.
func TestInputsGetReadAdvice(t *testing.T) {
	testenv.RequireRoot(t, "strace") // skipped outside CI only
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(strace, "-qq", "-e", "trace=none", "true").CombinedOutput(); err != nil {
		t.Fatalf("strace cannot trace here: %v %s", err, out)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gsoreplay")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	orig, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.pcap")
	if err := os.WriteFile(in, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	super := filepath.Join(dir, "super.pcapng")
	for _, tc := range []struct {
		args []string
		ok   bool // exit 0 expected
		file string
	}{
		{[]string{"inspect", in}, true, in},
		{[]string{"coalesce", "-q", "-o", super, in}, true, in},
		{[]string{"segment", "-q", "-o", filepath.Join(dir, "back.pcap"), super}, true, super},
		{[]string{"replay", "-i", "gsr-no-such-if", in}, false, in},
		{[]string{"replay", "-i", "gsr-no-such-if", "-I", "gsr-no-such-if2", "--split", "client", in}, false, in},
		{[]string{"verify", "--iface", "gsr-no-such-a", "--capture-iface", "gsr-no-such-b", in}, false, in},
	} {
		file, err := filepath.EvalSymlinks(tc.file) // strace -y shows the path the kernel holds
		if err != nil {
			t.Fatal(err)
		}
		log := filepath.Join(dir, "strace.log")
		cmd := exec.Command(strace, append([]string{"-f", "-qq", "-y", "-o", log, "-e", "trace=/fadvise", bin}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		if (err == nil) != tc.ok {
			t.Errorf("%v: %v %s", tc.args, err, out)
		}
		trace, rerr := os.ReadFile(log)
		if rerr != nil {
			t.Fatal(rerr)
		}
		for _, advice := range []string{"SEQUENTIAL", "NOREUSE"} {
			re := regexp.MustCompile(`fadvise64\w*\(\d+<` + regexp.QuoteMeta(file) + `>, 0, 0, POSIX_FADV_` + advice + `\b`)
			if !re.Match(trace) {
				t.Errorf("%v: no POSIX_FADV_%s on %s; strace saw:\n%s", tc.args, advice, file, trace)
			}
		}
	}
}
