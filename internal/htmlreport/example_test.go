package htmlreport_test

import (
	"os"

	"github.com/gsoreplay/gsoreplay/internal/htmlreport"
)

// A page with a rate over time, written as one self-contained HTML file.
func Example() {
	p := htmlreport.Page{Title: "replay of capture.pcap"}
	p.Heading("Rate at the interface")
	p.Chart(htmlreport.LineChart{ID: "rate", Title: "frames/s", XLabel: "seconds", YLabel: "frames/s",
		Series: []htmlreport.Series{{Name: "tx", X: []float64{0, 1, 2}, Y: []float64{0, 2e6, 1.9e6}}}})
	f, err := os.CreateTemp("", "report-*.html")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	if _, err := p.WriteTo(f); err != nil {
		panic(err)
	}
	f.Close()
	// Output:
}
