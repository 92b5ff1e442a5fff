package replay

import (
	"strings"
	"testing"
)

// TestAccounted: frames the sources handed on must all reach a socket;
// refused ones count, a preload's pass counts once per loop, and a gap is
// an error that says how many frames were lost.
func TestAccounted(t *testing.T) {
	mk := func(handed, sent, refused int64) *pipeline {
		p := &pipeline{src: &source{}, s: &sender{}}
		p.src.Stats.Frames, p.s.Stats.Frames, p.s.Stats.FailedFrames = handed, sent, refused
		return p
	}
	for _, c := range []struct {
		name    string
		ps      []*pipeline
		preload bool
		loops   int
		lost    string
	}{
		{"all sent", []*pipeline{mk(100, 100, 0), mk(50, 50, 0)}, false, 1, ""},
		{"some refused", []*pipeline{mk(100, 90, 10)}, false, 1, ""},
		{"preloaded, three loops", []*pipeline{mk(100, 300, 0)}, true, 3, ""},
		{"one frame short", []*pipeline{mk(100, 100, 0), mk(50, 49, 0)}, false, 1, "1 lost"},
		{"a loop short", []*pipeline{mk(100, 200, 0)}, true, 3, "100 lost"},
	} {
		err := accounted(c.ps, c.preload, c.loops)
		switch {
		case c.lost == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.lost != "" && (err == nil || !strings.Contains(err.Error(), c.lost)):
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.lost)
		}
	}
}
