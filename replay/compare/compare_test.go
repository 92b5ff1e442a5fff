package compare

import (
	"encoding/binary"
	"strings"
	"testing"
)

// tcpFrame is an Ethernet/IPv4/TCP frame of flow sport with the given ID and
// seq; checksums do not matter to Compare.
func tcpFrame(sport uint16, id uint16, seq uint32) []byte {
	b := make([]byte, 14+20+20+100)
	b[12], b[13] = 0x08, 0x00
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	binary.BigEndian.PutUint16(ip[4:], id)
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	th := ip[20:]
	binary.BigEndian.PutUint16(th[0:], sport)
	binary.BigEndian.PutUint16(th[2:], 80)
	binary.BigEndian.PutUint32(th[4:], seq)
	th[12], th[13] = 5<<4, 0x10
	return b
}

func TestCompare(t *testing.T) {
	a1, a2, a3 := tcpFrame(1, 1, 100), tcpFrame(1, 2, 200), tcpFrame(1, 3, 300)
	b1, b2 := tcpFrame(2, 9, 100), tcpFrame(2, 10, 200)
	exp := []Expected{{Data: a1}, {Data: b1}, {Data: a2}, {Data: b2}, {Data: a3, Normalized: "whole super-frame"}}
	wrongID := tcpFrame(1, 0x1c2e, 200)
	cases := []struct {
		name   string
		got    [][]byte
		strict bool
		want   Result
		detail string
	}{
		{"all exact", [][]byte{a1, b1, a2, b2, a3}, false, Result{Exact: 4, Normalized: 1}, ""},
		{"flows interleave differently", [][]byte{a1, a2, a3, b1, b2}, false, Result{Exact: 4, Normalized: 1}, ""},
		{"strict sees the global order", [][]byte{a1, a2, a3, b1, b2}, true, Result{Exact: 4, Normalized: 1, Reordered: 2}, "out of order"},
		{"reordered within a flow", [][]byte{a2, a1, b1, b2, a3}, false, Result{Exact: 4, Normalized: 1, Reordered: 1}, "out of order"},
		{"IPv4 ID differs", [][]byte{a1, b1, wrongID, b2, a3}, false, Result{Exact: 3, Normalized: 1, Mismatched: 1}, "IPv4 ID 0x1c2e != 0x0002"},
		{"missing", [][]byte{a1, b1, b2, a3}, false, Result{Exact: 3, Normalized: 1, Missing: 1}, "frame 3 missing"},
		{"extra", [][]byte{a1, b1, a2, b2, a3, tcpFrame(3, 1, 1)}, false, Result{Exact: 4, Normalized: 1, Extra: 1}, "extra frame 6"},
		{"duplicate", [][]byte{a1, a1, b1, a2, b2, a3}, false, Result{Exact: 4, Normalized: 1, Extra: 1}, "extra frame 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Frames(exp, tc.got, tc.strict)
			if r.Exact != tc.want.Exact || r.Normalized != tc.want.Normalized || r.Mismatched != tc.want.Mismatched ||
				r.Missing != tc.want.Missing || r.Extra != tc.want.Extra || r.Reordered != tc.want.Reordered {
				t.Fatalf("got %+v, want %+v", r, tc.want)
			}
			if tc.detail != "" && !strings.Contains(strings.Join(r.Details, "; "), tc.detail) {
				t.Errorf("details %q lack %q", r.Details, tc.detail)
			}
		})
	}
}

func TestDiffNamesFields(t *testing.T) {
	a := tcpFrame(1, 1, 100)
	b := tcpFrame(1, 1, 100)
	b[14+20+13] |= 0x08 // PSH
	b[14+8] = 63        // TTL
	d := Diff(a, b)
	if !strings.Contains(d, "IPv4 TTL 0x3f != 0x40") || !strings.Contains(d, "TCP flags PSH|ACK != ACK") {
		t.Errorf("diff %q", d)
	}
}
