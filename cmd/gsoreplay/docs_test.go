package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestDocLinks: every link of README.md and docs/ resolves: a file or
// directory of the repository, and the heading an anchor names (GitHub's
// anchors). There are no links off the repository to check offline; one
// would fail here until it is checked some other way.
func TestDocLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	checked := 0
	for _, f := range docFiles(t) {
		data, err := os.ReadFile("../../" + f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllSubmatch(stripCode(data), -1) {
			target := string(m[1])
			if strings.Contains(target, "://") {
				t.Errorf("%s: link %s leaves the repository: not checked", f, target)
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := filepath.Join("../..", filepath.Dir(f), path)
			if path == "" {
				file = "../../" + f
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s: link %s: %v", f, target, err)
				continue
			}
			if anchor != "" && !anchors(t, file)[anchor] {
				t.Errorf("%s: link %s: no heading #%s in %s", f, target, anchor, path)
			}
			checked++
		}
	}
	if checked < 20 {
		t.Errorf("only %d links checked", checked)
	}
	data, _ := os.ReadFile("../../README.md")
	if n := bytes.Count(data, []byte("\n")); n >= 200 {
		t.Errorf("README.md has %d lines; keep it under 200 (reference goes in docs/)", n)
	}
}

// stripCode blanks fenced code blocks, whose brackets are not links.
func stripCode(data []byte) []byte {
	var out []string
	in := false
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "```") {
			in = !in
			continue
		}
		if !in {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, "\n"))
}

// anchors is the set of GitHub anchors of a Markdown file's headings:
// lower case, spaces to hyphens, punctuation other than - and _ dropped.
func anchors(t *testing.T, path string) map[string]bool {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range strings.Split(string(stripCode(data)), "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(strings.TrimLeft(l, "#"))) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}

// TestManPages: "gsoreplay man DIR" writes a page per subcommand that man
// renders, with the command's name and every one of its flags.
func TestManPages(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("man missing in CI")
		}
		t.Skip("no man")
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"gsoreplay", "man", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("man: exit %d: %s", code, stderr.String())
	}
	app := newApp(&stdout, &stderr)
	for _, cmd := range visible(app.Commands) {
		page := filepath.Join(dir, "gsoreplay-"+cmd.Name+".1")
		out, err := exec.Command("man", "-l", "-Tutf8", page).Output()
		if err != nil {
			t.Fatalf("man %s: %v", page, err)
		}
		// Lines joined: groff's hyphenation (U+2010) undone, a hyphen of
		// the text kept.
		text := stripOverstrike(string(out))
		text = regexp.MustCompile("\u2010\n\\s*").ReplaceAllString(text, "")
		text = regexp.MustCompile("-\n\\s*").ReplaceAllString(text, "-")
		text = strings.Join(strings.Fields(text), " ")
		if !strings.Contains(text, "gsoreplay-"+cmd.Name+" - "+cmd.Usage) {
			t.Errorf("%s: no name or usage line:\n%.400s", page, text)
		}
		for _, f := range cmd.Flags {
			if name := f.Names()[0]; !strings.Contains(text, "--"+name) {
				t.Errorf("%s: flag --%s missing", page, name)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "gsoreplay-report-merge.1")); err != nil {
		t.Errorf("no page for report merge: %v", err)
	}
}

// stripOverstrike removes groff's bold and underline (x\bx, _\bx).
func stripOverstrike(s string) string {
	return regexp.MustCompile(".\b").ReplaceAllString(s, "")
}

// TestCompletion: bash completes subcommands and flags from the binary
// (bash runs the script), and zsh and fish take their scripts (their
// syntax checks).
func TestCompletion(t *testing.T) {
	bin := buildBinary(t, t.TempDir())
	script := func(shell string) string {
		out, err := exec.Command(bin, "completion", shell).Output()
		if err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		return string(out)
	}
	for _, c := range []struct {
		words []string
		want  []string
	}{
		{[]string{"rep"}, []string{"replay", "report"}},
		{[]string{"replay", "--dual"}, []string{"--dualfile"}},
		{[]string{"report", ""}, []string{"merge"}},
	} {
		words := append([]string{bin}, c.words...)
		cmd := exec.Command("bash", "-c", script("bash")+`
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _gsoreplay; printf '%s\n' "${COMPREPLY[@]}"`, "bash")
		cmd.Args = append(cmd.Args, words...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash completion of %v: %v", c.words, err)
		}
		got := strings.Fields(string(out))
		for _, w := range c.want {
			if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+w+" ") {
				t.Errorf("bash completes %v to %v, want %s among them", c.words, got, w)
			}
		}
	}
	for _, shell := range []string{"zsh", "fish"} {
		if _, err := exec.LookPath(shell); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing in CI", shell)
			}
			t.Logf("no %s: its script not checked", shell)
			continue
		}
		f := filepath.Join(t.TempDir(), "script")
		os.WriteFile(f, []byte(script(shell)), 0o644)
		if out, err := exec.Command(shell, "-n", f).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v %s", shell, err, out)
		}
	}
	if s := script("fish"); !strings.Contains(s, "complete -c gsoreplay") || !strings.Contains(s, "dualfile") {
		t.Errorf("fish script:\n%.300s", s)
	}
}
