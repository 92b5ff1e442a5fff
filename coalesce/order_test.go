package coalesce_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gsoreplay/gsoreplay/coalesce"
)

// TestOrderText: an Order reads and writes its names, and is a string in a
// Summary's JSON; a bad name is an *OptionError naming Order.
func TestOrderText(t *testing.T) {
	for s, want := range map[string]coalesce.Order{"per-flow": coalesce.PerFlow, "flow": coalesce.PerFlow, "strict": coalesce.Strict} {
		var o coalesce.Order
		if err := o.UnmarshalText([]byte(s)); err != nil || o != want {
			t.Errorf("%q: %v, %v", s, o, err)
		}
	}
	var o coalesce.Order
	var oe *coalesce.OptionError
	if err := o.UnmarshalText([]byte("random")); !errors.As(err, &oe) || oe.Option != "Order" || oe.Value != `"random"` {
		t.Errorf("bad name: %v", err)
	}
	opts := coalesce.DefaultOptions()
	opts.Order = coalesce.Strict
	var st coalesce.Stats
	b, err := json.Marshal(st.Summary(opts, 0))
	if err != nil || !strings.Contains(string(b), `"order":"strict"`) {
		t.Errorf("summary JSON %s, %v", b, err)
	}
	var back coalesce.Summary
	if err := json.Unmarshal(b, &back); err != nil || back.Order != coalesce.Strict {
		t.Errorf("summary read back: order %v, %v", back.Order, err)
	}
}
