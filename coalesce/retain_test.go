package coalesce_test

import (
	"bytes"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// TestRetain: a record the callback retains keeps its bytes while the
// coalescer goes on (its buffer is not reused) until it is released; the
// fragments of a failed train, which share one buffer, cannot be retained.
func TestRetain(t *testing.T) {
	type kept struct{ data, copy []byte }
	var held []kept
	refused := 0
	var c *coalesce.Coalescer
	c = coalesce.New(coalesce.DefaultOptions(), func(r *coalesce.Record) error {
		if c.Retain() {
			held = append(held, kept{r.Packet.Data, append([]byte(nil), r.Packet.Data...)})
		} else {
			refused++
		}
		return nil
	})
	var pkts []pcaps.Packet
	for _, fx := range craft.Fixtures() {
		pkts = append(pkts, fx.Pkts...)
	}
	broken := craft.UDPBulk()
	broken.DF, broken.Payload = false, craft.Payload(4000, 1)
	train := craft.Fragments(broken, nil, 1480)
	pkts = append(pkts, train[0], train[1]) // the last fragment missing: the train fails
	for i := range pkts {
		if err := c.Push(&pkts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if len(held) < 100 || refused != 2 {
		t.Fatalf("%d records retained, %d refused; want most retained and the 2 fragments refused", len(held), refused)
	}
	for i, k := range held {
		if !bytes.Equal(k.data, k.copy) {
			t.Fatalf("retained record %d changed while the coalescer went on", i)
		}
		c.Release(k.data)
	}
}
