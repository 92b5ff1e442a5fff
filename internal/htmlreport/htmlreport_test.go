package htmlreport

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestPage: a page's charts carry every point and bar with its values and
// their count, names are escaped, and nothing is fetched or scripted.
func TestPage(t *testing.T) {
	p := Page{Title: "replay <eth1>"}
	p.Heading("Rate")
	p.Text(`frames "counted" at the peer & more`)
	p.Table([]string{"thread", "frames"}, [][]string{{"0", "100"}, {"1", "<b>"}})
	x := []float64{0, 0.1, 0.2, 0.3}
	p.Chart(LineChart{ID: "rate", Title: "frames/s", XLabel: "s", YLabel: "frames/s", Series: []Series{
		{Name: "frames/s", X: x, Y: []float64{0, 1.5e6, 1.2e6, 1.7e6}},
		{Name: "<script>", X: x[:2], Y: []float64{-3, 4}},
	}})
	p.Chart(Histogram{ID: "segs", Title: "segments per super-packet", Bars: []Bar{{"1", 5}, {"2-4", 0}, {"5-8", 12.5}}})
	p.Chart(Bars{ID: "none", Title: "refusals"})
	var b bytes.Buffer
	if _, err := p.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script", "http:", "https:", "<b>"} {
		if strings.Contains(out, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	charts := regexp.MustCompile(`<figure class="chart \w+" id="(\w+)" data-chart="\w+" data-points="(\d+)">`).FindAllStringSubmatch(out, -1)
	want := map[string]int{"rate": 6, "segs": 3, "none": 0}
	if len(charts) != len(want) {
		t.Fatalf("%d charts, want %d", len(charts), len(want))
	}
	for _, c := range charts {
		if n, _ := strconv.Atoi(c[2]); n != want[c[1]] {
			t.Errorf("chart %s: data-points %d, want %d", c[1], n, want[c[1]])
		}
	}
	pts := regexp.MustCompile(`class="pt" data-series="[^"]*" data-x="([^"]+)" data-y="([^"]+)"`).FindAllStringSubmatch(out, -1)
	if len(pts) != 6 {
		t.Fatalf("%d points drawn, want 6", len(pts))
	}
	if pts[1][1] != "0.1" || pts[1][2] != "1.5e+06" || pts[4][2] != "-3" {
		t.Errorf("points %v", pts)
	}
	bars := regexp.MustCompile(`class="bar" data-label="([^"]*)" data-value="([^"]+)"`).FindAllStringSubmatch(out, -1)
	if len(bars) != 3 || bars[2][1] != "5-8" || bars[2][2] != "12.5" {
		t.Errorf("bars %v", bars)
	}
	if !strings.Contains(out, "no data") {
		t.Error("an empty chart says nothing")
	}
}
