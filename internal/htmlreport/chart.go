package htmlreport

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Plot area, in SVG units: the figure scales to the page's width.
const (
	width, height           = 900, 260
	left, right, top, below = 64, 16, 12, 40
)

// palette colours series in order.
var palette = []string{"#4878a8", "#d07020", "#50a050", "#b04050", "#8060b0", "#807050"}

// Series is one line of a LineChart: points (X[i], Y[i]).
type Series struct {
	Name string
	X, Y []float64
}

// LineChart is series over a common x axis (time, say).
type LineChart struct {
	ID, Title, XLabel, YLabel string
	Series                    []Series
}

// Bar is one bar: a label and its value.
type Bar struct {
	Label string
	Value float64
}

// Bars is a bar chart; a Histogram is one whose labels are ranges.
type Bars struct {
	ID, Title, XLabel, YLabel string
	Bars                      []Bar
}

// Histogram is Bars by another name: bins labelled by their range.
type Histogram = Bars

func (c LineChart) svg() string {
	n := 0
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for i := range min(len(s.X), len(s.Y)) {
			xmin, xmax = math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
			ymin, ymax = math.Min(ymin, s.Y[i]), math.Max(ymax, s.Y[i])
			n++
		}
	}
	var b strings.Builder
	begin(&b, "line", c.ID, c.Title, n)
	if n == 0 {
		return empty(&b)
	}
	ymin = math.Min(ymin, 0) // rates and errors read best from 0
	xs, ys := newScale(xmin, xmax, left, width-right), newScale(ymin, ymax, height-below, top)
	axes(&b, xs, ys, c.XLabel, c.YLabel)
	for k, s := range c.Series {
		colour := palette[k%len(palette)]
		var pts []string
		for i := range min(len(s.X), len(s.Y)) {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xs.at(s.X[i]), ys.at(s.Y[i])))
		}
		fmt.Fprintf(&b, `<polyline class="line" stroke="%s" points="%s"/>`, colour, strings.Join(pts, " "))
		for i := range min(len(s.X), len(s.Y)) {
			fmt.Fprintf(&b, `<circle class="pt" data-series="%s" data-x="%s" data-y="%s" cx="%.1f" cy="%.1f" r="1.6" fill="%s"><title>%s: %s, %s</title></circle>`,
				esc(s.Name), num(s.X[i]), num(s.Y[i]), xs.at(s.X[i]), ys.at(s.Y[i]), colour, esc(s.Name), num(s.X[i]), num(s.Y[i]))
		}
		fmt.Fprintf(&b, `<text class="legend" x="%d" y="%d" fill="%s">%s</text>`, left+8+k*150, top+12, colour, esc(s.Name))
	}
	return finish(&b)
}

func (c Bars) svg() string {
	var b strings.Builder
	begin(&b, "bars", c.ID, c.Title, len(c.Bars))
	if len(c.Bars) == 0 {
		return empty(&b)
	}
	ymax := 0.0
	for _, r := range c.Bars {
		ymax = math.Max(ymax, r.Value)
	}
	ys := newScale(0, ymax, height-below, top)
	axes(&b, scale{}, ys, c.XLabel, c.YLabel)
	slot := float64(width-left-right) / float64(len(c.Bars))
	for i, r := range c.Bars {
		w := min(slot*0.8, 90) // a few bars stay bars, not walls
		x, y := float64(left)+slot*float64(i)+(slot-w)/2, ys.at(r.Value)
		fmt.Fprintf(&b, `<rect class="bar" data-label="%s" data-value="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
			esc(r.Label), num(r.Value), x, y, w, ys.at(0)-y, esc(r.Label), num(r.Value))
		if len(c.Bars) <= 40 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+w/2, y-3, short(r.Value))
		}
		if len(c.Bars) <= 40 || i%(len(c.Bars)/20+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+w/2, height-below+14, esc(r.Label))
		}
	}
	return finish(&b)
}

func begin(b *strings.Builder, kind, id, title string, points int) {
	fmt.Fprintf(b, `<figure class="chart %s" id="%s" data-chart="%s" data-points="%d"><figcaption>%s</figcaption>`,
		kind, esc(id), esc(id), points, esc(title))
	fmt.Fprintf(b, `<svg viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s">`, width, height, esc(title))
}

func finish(b *strings.Builder) string {
	b.WriteString("</svg></figure>")
	return b.String()
}

func empty(b *strings.Builder) string {
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">no data</text>`, width/2, height/2)
	return finish(b)
}

// axes draws the y axis with its ticks and grid, and the x axis with
// ticks when xs is set (bars label their own slots).
func axes(b *strings.Builder, xs, ys scale, xlabel, ylabel string) {
	fmt.Fprintf(b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, height-below, width-right, height-below)
	fmt.Fprintf(b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, top, left, height-below)
	for _, v := range ys.ticks() {
		y := ys.at(v)
		fmt.Fprintf(b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`,
			left+1, y, width-right, y, left-4, y+4, short(v))
	}
	if xs.span != 0 {
		for _, v := range xs.ticks() {
			x := xs.at(v)
			fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, height-below+14, short(v))
		}
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, (left+width-right)/2, height-6, esc(xlabel))
	fmt.Fprintf(b, `<text x="12" y="%d" text-anchor="middle" transform="rotate(-90 12 %d)">%s</text>`, (top+height-below)/2, (top+height-below)/2, esc(ylabel))
}

// scale maps [lo, lo+span] of the data onto [from, to] of the SVG.
type scale struct {
	lo, span, from, to float64
}

func newScale(lo, hi float64, from, to int) scale {
	if hi <= lo {
		hi = lo + 1
	}
	return scale{lo: lo, span: hi - lo, from: float64(from), to: float64(to)}
}

func (s scale) at(v float64) float64 { return s.from + (v-s.lo)/s.span*(s.to-s.from) }

// ticks are about 5 round values within the scale.
func (s scale) ticks() []float64 {
	step := math.Pow(10, math.Floor(math.Log10(s.span/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if s.span/(step*m) <= 6 {
			step *= m
			break
		}
	}
	var out []float64
	for v := math.Ceil(s.lo/step) * step; v <= s.lo+s.span+step/1e9; v += step {
		out = append(out, v)
	}
	return out
}

// short writes a tick value with an SI suffix: 1.5M, 20k, 0.25.
func short(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', 3, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// num writes a data value exactly enough to read it back.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func esc(s string) string { return template.HTMLEscapeString(s) }
