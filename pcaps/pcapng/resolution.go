package pcapng

import (
	"math"
	"math/bits"
)

// Resolution is an interface's timestamp unit and offset: if_tsresol (10^-n
// seconds, or 2^-n when the top bit is set; default 10^-6) and if_tsoffset
// (seconds added to every timestamp).
type Resolution struct {
	Tsresol  uint8
	Tsoffset int64
}

// DefaultResolution is an interface's without if_tsresol: microseconds.
var DefaultResolution = Resolution{Tsresol: 6}

// ResolutionOf reads an Interface Description Block's options.
func ResolutionOf(d InterfaceDescription) Resolution {
	r := DefaultResolution
	o, err := d.Options()
	if err != nil {
		return r
	}
	if v, ok := o.First(OptIfTsresol); ok && len(v) >= 1 {
		r.Tsresol = v[0]
	}
	if v, ok := o.First(OptIfTsoffset); ok && len(v) >= 8 {
		r.Tsoffset = int64(d.Order.Uint64(v))
	}
	return r
}

func pow10(n uint8) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// Nanoseconds converts a timestamp in the interface's units to nanoseconds
// since the epoch; exact reports whether Units gives back ts from them.
func (r Resolution) Nanoseconds(ts uint64) (ns int64, exact bool) {
	var u uint64
	n := r.Tsresol & 0x7F
	switch {
	case r.Tsresol&0x80 != 0:
		// ts / 2^n seconds: ts * 1e9 >> n, in 128 bits.
		hi, lo := bits.Mul64(ts, 1e9)
		if n >= 64 {
			lo, hi = hi>>(n-64), 0
		} else if n > 0 {
			lo, hi = lo>>n|hi<<(64-n), hi>>n
		}
		if hi != 0 {
			return 0, false
		}
		u = lo
	case n <= 9:
		m := pow10(9 - n)
		hi, lo := bits.Mul64(ts, m)
		if hi != 0 {
			return 0, false
		}
		u = lo
	case n <= 19:
		u = ts / pow10(n-9)
	default:
		u = 0
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	ns = int64(u)
	off := r.Tsoffset
	if off > math.MaxInt64/1_000_000_000 || off < math.MinInt64/1_000_000_000 {
		return 0, false
	}
	if s, o := ns, off*1e9; (o > 0 && s > math.MaxInt64-o) || (o < 0 && s < math.MinInt64-o) {
		return 0, false
	}
	ns += off * 1e9
	back, ok := r.Units(ns)
	return ns, ok && back == ts
}

// Units converts nanoseconds since the epoch to the interface's units,
// rounding up; ok is false when they do not fit.
func (r Resolution) Units(ns int64) (ts uint64, ok bool) {
	off := r.Tsoffset
	if off > math.MaxInt64/1_000_000_000 || off < math.MinInt64/1_000_000_000 {
		return 0, false
	}
	o := off * 1e9
	if (o < 0 && ns > math.MaxInt64+o) || (o > 0 && ns < math.MinInt64+o) {
		return 0, false
	}
	ns -= o
	if ns < 0 {
		return 0, false
	}
	u := uint64(ns)
	n := r.Tsresol & 0x7F
	switch {
	case r.Tsresol&0x80 != 0:
		// ceil(u * 2^n / 1e9): the inverse of Nanoseconds' floor while
		// 2^n <= 1e9; finer units are exact only where the check says.
		if n >= 64 {
			return 0, false
		}
		hi, lo := u>>(64-n), u<<n
		if n == 0 {
			hi = 0
		}
		if hi >= 1e9 {
			return 0, false
		}
		q, rem := bits.Div64(hi, lo, 1e9)
		if rem != 0 {
			q++
		}
		return q, true
	case n <= 9:
		m := pow10(9 - n)
		q := u / m
		if u%m != 0 {
			q++
		}
		return q, true
	case n <= 19:
		hi, lo := bits.Mul64(u, pow10(n-9))
		return lo, hi == 0
	}
	return 0, false
}
