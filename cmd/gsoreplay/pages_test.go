package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/inspect"
	"github.com/gsoreplay/gsoreplay/internal/testenv"
)

// The HTML reports are checked as a browser sees them: each page is
// rendered by headless Chromium, which gives back its DOM and a
// screenshot. Every chart must hold exactly the points and bars of the
// --json report of the same run, with the same values; the page's
// structure (headings and charts, in order) must match its golden file
// in testdata/reports (GSOREPLAY_UPDATE_GOLDEN=1 writes them); the
// screenshot must show bars or lines. GSOREPLAY_SCREENSHOTS=DIR keeps
// the screenshots (docs/pictures holds them).

// point is one point or bar of a chart, as its data attributes say.
type point struct {
	series, x, y string // a line chart's
	label, value string // a bar's
}

// chart is one figure of a rendered page.
type chart struct {
	id, kind string
	declared int // data-points
	points   []point
}

// rendered is what Chromium made of a page.
type rendered struct {
	structure []string // "h2 TEXT" and "figure ID KIND", in order
	charts    map[string]*chart
}

// renderPage loads page in headless Chromium and reads its DOM; the
// screenshot goes to shot, a window w pixels wide and h high.
func renderPage(t *testing.T, page, shot string, w, h int) rendered {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium")
	}
	url := "file://" + page
	common := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	dom, err := exec.Command(bin, append(common, "--dump-dom", url)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v", page, err)
	}
	if out, err := exec.Command(bin, append(common, fmt.Sprintf("--window-size=%d,%d", w, h), "--screenshot="+shot, url)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot %s: %v\n%s", page, err, out)
	}
	checkScreenshot(t, shot, w, h)
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{charts: map[string]*chart{}}
	var cur *chart
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			a := map[string]string{}
			for _, at := range n.Attr {
				a[at.Key] = at.Val
			}
			switch {
			case n.Data == "h2":
				r.structure = append(r.structure, "h2 "+text(n))
			case n.Data == "figure":
				kind := strings.TrimPrefix(a["class"], "chart ")
				r.structure = append(r.structure, "figure "+a["id"]+" "+kind)
				cur = &chart{id: a["id"], kind: kind}
				cur.declared, _ = strconv.Atoi(a["data-points"])
				if r.charts[cur.id] != nil {
					t.Errorf("%s: two charts with id %q", page, cur.id)
				}
				r.charts[cur.id] = cur
			case n.Data == "circle" && a["class"] == "pt":
				cur.points = append(cur.points, point{series: a["data-series"], x: a["data-x"], y: a["data-y"]})
			case n.Data == "rect" && a["class"] == "bar":
				cur.points = append(cur.points, point{label: a["data-label"], value: a["data-value"]})
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, c := range r.charts {
		if c.declared != len(c.points) {
			t.Errorf("%s: chart %s declares %d points and holds %d", page, c.id, c.declared, len(c.points))
		}
	}
	return r
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// checkScreenshot: the PNG has the window's size and shows the charts'
// colour (a page of "no data" does not).
func checkScreenshot(t *testing.T, shot string, w, h int) {
	t.Helper()
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", shot, err)
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: %dx%d, want %dx%d", shot, b.Dx(), b.Dy(), w, h)
	}
	drawn := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 == 0x48 && g>>8 == 0x78 && bl>>8 == 0xa8 { // the first colour of the palette
				drawn++
			}
		}
	}
	if drawn < 50 {
		t.Errorf("%s: %d pixels of chart colour: nothing drawn", shot, drawn)
	}
}

// chartWant is what one chart must hold.
type chartWant struct {
	id     string
	points []point
}

// checkCharts compares the rendered charts with what the report says.
func checkCharts(t *testing.T, r rendered, wants []chartWant) {
	t.Helper()
	for _, w := range wants {
		c := r.charts[w.id]
		if c == nil {
			t.Errorf("no chart %s", w.id)
			continue
		}
		if len(c.points) != len(w.points) {
			t.Errorf("chart %s: %d points, the report has %d", w.id, len(c.points), len(w.points))
			continue
		}
		for i, p := range w.points {
			if !samePoint(c.points[i], p) {
				t.Errorf("chart %s, point %d: %+v, the report has %+v", w.id, i, c.points[i], p)
				break
			}
		}
	}
}

// samePoint compares numbers as numbers.
func samePoint(got, want point) bool {
	eq := func(a, b string) bool {
		if a == b {
			return true
		}
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		return err1 == nil && err2 == nil && x == y
	}
	return got.series == want.series && got.label == want.label && eq(got.x, want.x) && eq(got.y, want.y) && eq(got.value, want.value)
}

func f64(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func bars(labels []string, values []int64) []point {
	ps := make([]point, len(labels))
	for i := range labels {
		ps[i] = point{label: labels[i], value: f64(float64(values[i]))}
	}
	return ps
}

// coalescingWants is what a coalescing summary's charts hold.
func coalescingWants(id string, s *coalesce.Summary) []chartWant {
	reasons := func(m map[string]int64) []point {
		var l []string
		var v []int64
		for _, r := range coalesce.Reasons() {
			if n := m[r.Key()]; n > 0 {
				l, v = append(l, r.Key()), append(v, n)
			}
		}
		return bars(l, v)
	}
	var segs []int64
	for _, b := range s.SegmentBuckets() {
		segs = append(segs, s.Segments[b])
	}
	return []chartWant{
		{id + "merge", bars([]string{"inside super-packets", "passed through"}, []int64{s.Coalesced, s.PassedThrough})},
		{id + "segments", bars(s.SegmentBuckets(), segs)},
		{id + "not-mergeable", reasons(s.Refused)},
		{id + "run-ended", reasons(s.Flushes)},
	}
}

// checkStructure compares the page's headings and charts with the golden
// file of its kind.
func checkStructure(t *testing.T, kind string, r rendered) {
	t.Helper()
	golden := filepath.Join("testdata", "reports", kind+".golden")
	got := strings.Join(r.structure, "\n") + "\n"
	if os.Getenv("GSOREPLAY_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(w) {
		t.Errorf("%s report's structure:\n%s\nwant (%s):\n%s", kind, got, golden, w)
	}
}

// reportPage runs a command that writes --report and --json, renders the
// page, and returns it with the JSON; the screenshot is kept where
// GSOREPLAY_SCREENSHOTS says, as KIND.png.
func reportPage(t *testing.T, kind string, h int, run func(args ...string) (int, string, string), args ...string) (rendered, []byte) {
	t.Helper()
	dir := t.TempDir()
	page := filepath.Join(dir, kind+".html")
	args = append(append([]string{}, args[:1]...), append([]string{"--json", "--report", page}, args[1:]...)...)
	code, js, stderr := run(args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	shot := filepath.Join(dir, kind+".png")
	r := renderPage(t, page, shot, 900, h)
	checkStructure(t, kind, r)
	if d := os.Getenv("GSOREPLAY_SCREENSHOTS"); d != "" {
		if err := paletted(shot, filepath.Join(d, kind+".png")); err != nil {
			t.Fatal(err)
		}
	}
	return r, []byte(js)
}

// paletted writes a screenshot again with its 256 most common colours
// (the charts have a handful; the edges of text take the nearest): a
// third of the size, for the docs.
func paletted(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		return err
	}
	b := img.Bounds()
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	cs := make([]color.RGBA, 0, len(counts))
	for c := range counts {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		return counts[a] > counts[b] || counts[a] == counts[b] && (a.R < b.R || a.R == b.R && (a.G < b.G || a.G == b.G && a.B < b.B))
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range cs[:min(256, len(cs))] {
		pal = append(pal, c)
	}
	p := image.NewPaletted(b, pal)
	draw.Draw(p, b, img, b.Min, draw.Src)
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(out, p); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// TestInspectReportPage: inspect --report of the kernel traffic.
func TestInspectReportPage(t *testing.T) {
	r, js := reportPage(t, "inspect", 1500, func(args ...string) (int, string, string) { return gsoreplay(t, nil, args...) }, "inspect", fixture)
	var rep inspect.Report
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Coalescing == nil || rep.Coalescing.SuperPackets == 0 {
		t.Fatalf("nothing coalesced: %+v", rep.Coalescing)
	}
	checkCharts(t, r, coalescingWants("", rep.Coalescing))
}
