package coalesce_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/capfile"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// bulk returns n packets of two interleaved bulk TCP flows (IPv4 and IPv6)
// with the pure ACKs of their receivers, like an iperf3 capture.
func bulk(n int) []pcaps.Packet {
	a := tcpPkt()
	b := tcpPkt()
	b.V6, b.Sport = true, 40001
	var out []pcaps.Packet
	fa := flow(a, n/3, nil)
	fb := flow(b, n/3, nil)
	for i := range fa {
		ack := tcpPkt()
		ack.Sport, ack.Dport, ack.Payload = 5201, 40000, nil
		ack.Timestamp = fa[i].Timestamp
		out = append(out, fa[i].Packet(), fb[i].Packet(), ack.Packet())
	}
	return out
}

// BenchmarkCoalesce: packets per second through the coalescer, and
// allocations per packet (0 in steady state).
func BenchmarkCoalesce(b *testing.B) {
	pk := bulk(30000)
	var bytes int64
	for _, p := range pk {
		bytes += int64(len(p.Data))
	}
	c := coalesce.New(coalesce.DefaultOptions(), func(*coalesce.Record) error { return nil })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// Timestamps must advance across iterations or every run hits max span.
	step := pk[len(pk)-1].Timestamp.Sub(pk[0].Timestamp) + time.Millisecond
	b.SetBytes(bytes)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		shift := time.Duration(i) * step
		for j := range pk {
			p := pk[j]
			p.Timestamp = p.Timestamp.Add(shift)
			if err := c.Push(&p); err != nil {
				b.Fatal(err)
			}
		}
	}
	c.Close()
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.N*len(pk))/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*len(pk)), "allocs/packet")
}

// BenchmarkRestore: segment plus reordering and timestamps, per-flow records.
func BenchmarkRestore(b *testing.B) {
	pk := bulk(3000)
	got := coalesceAll(b, pk, coalesce.DefaultOptions())
	for i := range got.recs {
		if got.metas[i].Segs > 1 {
			got.recs[i].Comment = string(coalesce.AppendComment(nil, &got.metas[i]))
		}
	}
	rs := capfile.NewRestorer(func(*pcaps.Packet) error { return nil })
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for i := range got.recs {
			if err := rs.Add(&got.recs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(pk))/b.Elapsed().Seconds(), "packets/s")
}
