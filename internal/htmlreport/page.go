// Package htmlreport writes a report as one self-contained HTML file:
// headings, text, tables and charts drawn as inline SVG, with no script and
// nothing fetched, so that it opens anywhere, offline, and prints. Charts
// are line charts (a time series: rate, send-time error), histograms and
// bar charts; every point and bar carries its data (data-x, data-y,
// data-label, data-value) and every chart its point count (data-points),
// so that a test can check a rendered page against the report it came
// from.
package htmlreport

import (
	"html/template"
	"io"
	"strings"
)

// A Page is a report being built, in order.
type Page struct {
	Title string
	parts []template.HTML
}

// Heading adds a section heading.
func (p *Page) Heading(s string) {
	p.parts = append(p.parts, template.HTML("<h2>"+template.HTMLEscapeString(s)+"</h2>"))
}

// Text adds a paragraph.
func (p *Page) Text(s string) {
	p.parts = append(p.parts, template.HTML("<p>"+template.HTMLEscapeString(s)+"</p>"))
}

// Table adds a table with a header row.
func (p *Page) Table(head []string, rows [][]string) {
	var b strings.Builder
	b.WriteString(`<table><thead><tr>`)
	for _, h := range head {
		b.WriteString("<th>" + template.HTMLEscapeString(h) + "</th>")
	}
	b.WriteString("</tr></thead><tbody>")
	for _, r := range rows {
		b.WriteString("<tr>")
		for _, c := range r {
			b.WriteString("<td>" + template.HTMLEscapeString(c) + "</td>")
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	p.parts = append(p.parts, template.HTML(b.String()))
}

// Chart adds a chart (LineChart, Histogram, Bars).
func (p *Page) Chart(c Chart) {
	p.parts = append(p.parts, template.HTML(c.svg()))
}

// A Chart draws itself as a figure holding an SVG.
type Chart interface {
	svg() string
}

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="gsoreplay">
<title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}
svg text{font:11px system-ui,sans-serif;fill:#444}
.axis{stroke:#888}.grid{stroke:#eee}.line{fill:none;stroke-width:1.5}
.bar{fill:#4878a8}.legend{font-size:12px}
</style></head><body>
<h1>{{.Title}}</h1>
{{range .Parts}}{{.}}
{{end}}</body></html>
`))

// WriteTo writes the page as one HTML document.
func (p *Page) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	err := page.Execute(cw, struct {
		Title string
		Parts []template.HTML
	}{p.Title, p.parts})
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
