package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeExample is one "$ gsoreplay ..." line of README.md and the output
// the README shows after it.
type readmeExample struct {
	line int
	args []string
	want string
}

// readmeExamples reads every "$ gsoreplay" command of README.md's code
// blocks, in order, with the lines the README shows after it.
func readmeExamples(t *testing.T) []readmeExample {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeExample
	var cur *readmeExample
	inBlock := false
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
			cur = nil
			continue
		}
		if !inBlock {
			continue
		}
		if cmd, ok := strings.CutPrefix(line, "$ "); ok {
			cur = nil
			if rest, ok := strings.CutPrefix(cmd, "gsoreplay "); ok && !strings.ContainsAny(rest, "|>") {
				out = append(out, readmeExample{line: i + 1, args: strings.Fields(rest)})
				cur = &out[len(out)-1]
			}
			continue
		}
		if cur != nil {
			cur.want += line + "\n"
		}
	}
	return out
}

// variable masks what changes from run to run: durations.
var variable = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\(\d+\.\d+ s\)`), "(X s)"},
	{regexp.MustCompile(`"seconds":[0-9.e+-]+`), `"seconds":X`},
}

func mask(s string) string {
	for _, v := range variable {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

// runReadme runs the README's examples of the commands that pass keep, in
// one scratch directory (so that one example's output file is the next
// one's input), and compares what they print with what the README shows.
func runReadme(t *testing.T, keep func(cmd string) bool) int {
	dir := t.TempDir()
	examples := readmeExamples(t)
	t.Chdir("../..") // paths in the README are the repository's
	ran := 0
	for _, ex := range examples {
		if !keep(ex.args[0]) {
			continue
		}
		args := []string{"gsoreplay"}
		for _, a := range ex.args {
			if !strings.HasPrefix(a, "-") && a != sampleName && a != ex.args[0] && strings.Contains(a, ".") {
				if _, err := os.Stat(a); err != nil {
					a = filepath.Join(dir, a) // written by an example before
				}
			}
			args = append(args, a)
		}
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		got := stdout.String() + stderr.String()
		if slices.Contains(ex.args, "--gro") || slices.Contains(ex.args, "--forward") {
			// How much GRO merges depends on timing: the verdict must be
			// the README's (and the exit status with it); the numbers are
			// an example.
			first := func(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
			want := 0
			if !strings.Contains(first(ex.want), "LOSSLESS") && !strings.Contains(first(ex.want), "EXACT") {
				want = 1
			}
			if first(got) != first(ex.want) || code != want {
				t.Errorf("README.md:%d: gsoreplay %s (exit %d) prints\n%s\nthe README shows\n%s", ex.line, strings.Join(ex.args, " "), code, got, ex.want)
			}
			ran++
			continue
		}
		if mask(got) != mask(ex.want) {
			t.Errorf("README.md:%d: gsoreplay %s (exit %d) prints\n%s\nthe README shows\n%s", ex.line, strings.Join(ex.args, " "), code, got, ex.want)
		}
		ran++
	}
	return ran
}

// TestReadmeOutputs: the outputs README.md shows for inspect, coalesce and
// segment are what the commands print, to the byte.
func TestReadmeOutputs(t *testing.T) {
	n := runReadme(t, func(cmd string) bool { return cmd == "inspect" || cmd == "coalesce" || cmd == "segment" })
	if n < 4 {
		t.Errorf("only %d README examples ran", n)
	}
}
