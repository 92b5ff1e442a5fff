package coalesce_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
)

// borrowAll is coalesceAll in borrow mode: the coalescer keeps slices of
// pkts (given copies here), and each record is gathered, headers and
// parts, when it comes out. Every expire pushes (0: never) it calls
// ExpireBefore for the packets pushed before the last expire/2, and then
// overwrites those packets, as a reader reusing its ring would: a record
// that still held one would come out wrong.
func borrowAll(t testing.TB, pkts []pcaps.Packet, opts coalesce.Options, expire int) collected {
	t.Helper()
	in := make([]pcaps.Packet, len(pkts))
	for i, p := range pkts {
		p.Data = append([]byte(nil), p.Data...)
		p.Offset = int64(i)
		in[i] = p
	}
	var out collected
	c := coalesce.New(opts, out.keep)
	c.Borrow()
	freed := 0
	for i := range in {
		if err := c.Push(&in[i]); err != nil {
			t.Fatal(err)
		}
		if expire > 0 && i%expire == expire-1 {
			before := i + 1 - expire/2
			if err := c.ExpireBefore(int64(before)); err != nil {
				t.Fatal(err)
			}
			for ; freed < before; freed++ {
				for k := range in[freed].Data {
					in[freed].Data[k] = 0xee
				}
			}
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for i := freed; i < len(in); i++ {
		if !bytes.Equal(in[i].Data, pkts[i].Data) {
			t.Fatalf("borrow mode changed pushed packet %d", i+1)
		}
	}
	out.stats = c.Stats()
	return out
}

// borrowAgrees checks borrow mode against the copying mode on pkts: the
// very same records without ExpireBefore, and the round trip with it.
func borrowAgrees(t testing.TB, pkts []pcaps.Packet, opts coalesce.Options) {
	t.Helper()
	want, got := coalesceAll(t, pkts, opts), borrowAll(t, pkts, opts, 0)
	if len(got.recs) != len(want.recs) {
		t.Fatalf("borrow mode: %d records, copying mode %d", len(got.recs), len(want.recs))
	}
	for i := range want.recs {
		g, w := got.recs[i], want.recs[i]
		if !bytes.Equal(g.Data, w.Data) || g.Length != w.Length || !g.Timestamp.Equal(w.Timestamp) || !reflect.DeepEqual(got.metas[i], want.metas[i]) {
			t.Fatalf("record %d differs: %d bytes (%d) %+v, copying mode %d bytes (%d) %+v", i+1, len(g.Data), g.Length, got.metas[i], len(w.Data), w.Length, want.metas[i])
		}
	}
	if !reflect.DeepEqual(*got.stats, *want.stats) {
		t.Fatalf("stats differ: %+v, copying mode %+v", *got.stats, *want.stats)
	}
	for _, every := range []int{2, 7, 64} {
		restoreAll(t, pkts, borrowAll(t, pkts, opts, every))
	}
}

// TestBorrowMatchesCopy: on every real capture and fixture, in both
// orders, borrow mode makes the records the copying mode makes, byte for
// byte, and with packets taken back early (ExpireBefore, then overwritten)
// the round trip still gives back every packet.
func TestBorrowMatchesCopy(t *testing.T) {
	for _, path := range corpusFiles(t) {
		r, err := pcaps.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var pkts []pcaps.Packet
		var p pcaps.Packet
		for {
			if err := r.Next(&p); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			q := p
			q.Data = append([]byte(nil), p.Data...)
			pkts = append(pkts, q)
		}
		r.Close()
		for _, order := range []coalesce.Order{coalesce.PerFlow, coalesce.Strict} {
			t.Run(filepath.Base(path)+"/"+order.String(), func(t *testing.T) {
				o := coalesce.DefaultOptions()
				o.Order = order
				borrowAgrees(t, pkts, o)
			})
		}
	}
	if _, err := os.Stat(corpusDir); err != nil {
		t.Log("no corpus: fixtures only")
	}
}

// FuzzBorrow: on generated captures (every flush path, fragment trains),
// borrow mode agrees with the copying mode.
func FuzzBorrow(f *testing.F) {
	f.Add(bytes.Repeat([]byte{15, 0, 10, 0}, 20))
	f.Add([]byte{16, 1, 40, 0, 15, 0, 1, 0, 16, 0x12, 20, 0, 16, 0x80, 30, 2, 15, 0, 1, 1, 16, 0x42, 9, 0, 16, 4, 9, 0})
	f.Add([]byte{17, 0, 1, 3, 17, 0, 1, 3, 17, 0, 1, 3, 15, 3, 1, 3, 17, 0, 1, 3, 15, 1, 1, 3, 17, 0, 1, 3, 17, 0, 1, 0, 17, 0, 1, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		pk := fuzzPackets(data)
		for _, o := range fuzzOptions {
			borrowAgrees(t, pk, o)
		}
	})
}

// TestClassifiedTCPView: for every packet of the corpus and the fixtures
// that Classify finds a mergeable TCP segment, its TCPView is what
// TCPView.Parse reads of the frame.
func TestClassifiedTCPView(t *testing.T) {
	seen := 0
	for _, path := range corpusFiles(t) {
		r, err := pcaps.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var cl coalesce.Classified
		err = r.Each(func(p *pcaps.Packet) error {
			cl.Classify(p)
			got, ok := cl.TCPView(p.Data)
			if !ok {
				return nil
			}
			var want coalesce.TCPView
			wok := want.Parse(p.Data, p.LinkType, p.Interface)
			if !wok || got != want {
				return fmt.Errorf("%s: record %d: TCPView %+v, Parse %+v (%v)", path, r.Count(), got, want, wok)
			}
			seen++
			return nil
		})
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if seen == 0 {
		t.Fatal("no mergeable TCP segment seen")
	}
	t.Logf("%d segments", seen)
}
