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

// readmeExample is one "$ gsoreplay ..." line of README.md or a file of
// docs/ and the output shown after it.
type readmeExample struct {
	file string
	line int
	args []string
	want string
}

// docFiles are README.md and docs/*.md, from the repository's root.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	for i := range files {
		files[i] = strings.TrimPrefix(files[i], "../../")
	}
	return append([]string{"README.md"}, files...)
}

// readmeExamples reads every "$ gsoreplay" command of a documentation
// file's code blocks, in order, with the lines shown after it.
func readmeExamples(t *testing.T, file string) []readmeExample {
	t.Helper()
	data, err := os.ReadFile("../../" + file)
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
				out = append(out, readmeExample{file: file, line: i + 1, args: strings.Fields(rest)})
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
	return elide(s, `"series":`)
}

// elide shortens every JSON object after key to {…}: the docs show a
// replay's series (rates, timings) that way, as no two runs share them.
func elide(s, key string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, key+"{")
		if i < 0 {
			return b.String() + s
		}
		b.WriteString(s[:i+len(key)] + "{…}")
		depth, j := 0, i+len(key)
		for ; j < len(s); j++ {
			if s[j] == '{' {
				depth++
			} else if s[j] == '}' {
				if depth--; depth == 0 {
					break
				}
			}
		}
		s = s[min(j+1, len(s)):]
	}
}

// runReadme runs the examples of README.md and docs/ of the commands that
// pass keep, each file's in one scratch directory of its own (so that one
// example's output file is the next one's input), and compares what they
// print with what the file shows.
func runReadme(t *testing.T, keep func(cmd string) bool) int {
	var examples []readmeExample
	for _, f := range docFiles(t) {
		examples = append(examples, readmeExamples(t, f)...)
	}
	t.Chdir("../..") // paths in the docs are the repository's
	ran := 0
	var dir, file string
	for _, ex := range examples {
		if ex.file != file {
			dir, file = t.TempDir(), ex.file
		}
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
				t.Errorf("%s:%d: gsoreplay %s (exit %d) prints\n%s\nthe file shows\n%s", ex.file, ex.line, strings.Join(ex.args, " "), code, got, ex.want)
			}
			ran++
			continue
		}
		if mask(got) != mask(ex.want) {
			t.Errorf("%s:%d: gsoreplay %s (exit %d) prints\n%s\nthe file shows\n%s", ex.file, ex.line, strings.Join(ex.args, " "), code, got, ex.want)
		}
		ran++
	}
	return ran
}

// TestReadmeOutputs: the outputs README.md and docs/ show for inspect,
// coalesce and segment are what the commands print, to the byte.
func TestReadmeOutputs(t *testing.T) {
	n := runReadme(t, func(cmd string) bool { return cmd == "inspect" || cmd == "coalesce" || cmd == "segment" })
	if n < 4 {
		t.Errorf("only %d README examples ran", n)
	}
}
