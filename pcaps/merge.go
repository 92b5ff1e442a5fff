package pcaps

import "io"

// merged is a Reader's state when it reads two captures as one (Merge).
type merged struct {
	src  [2]*Reader
	head [2]Packet
	has  [2]bool // head[i] holds src[i]'s next packet
	done [2]bool
	// ifaces is both captures' interfaces: the first's, then the second's.
	ifaces []Interface
}

// Merge returns a Reader of the packets of two captures in timestamp
// order, a's first when two are stamped alike, as tcpreplay's --dualfile
// reads its two files: each packet's Origin says which it came from (0 a,
// 1 b), and a packet of b gets an Interface numbered after a's interfaces.
// The Reader's other properties (format, metadata) are a's; it reads in
// no Window of a caller's. Close closes both.
func Merge(a, b *Reader) *Reader {
	return &Reader{name: a.name + "+" + b.name, format: a.format, compression: a.compression, merge: &merged{src: [2]*Reader{a, b}}}
}

// Merged reports whether r reads two captures as one (Merge): such a
// Reader takes no Window.
func (r *Reader) Merged() bool { return r.merge != nil }

// next hands on whichever capture's next packet is earlier. A packet's
// Data stays valid until the next call, as with one capture: only the
// capture that packet came from reads on.
func (m *merged) next(p *Packet) error {
	for i := range m.src {
		if m.has[i] || m.done[i] {
			continue
		}
		switch err := m.src[i].Next(&m.head[i]); {
		case err == io.EOF:
			m.done[i] = true
		case err != nil:
			return err
		default:
			m.has[i] = true
		}
	}
	i := 0
	switch {
	case !m.has[0] && !m.has[1]:
		return io.EOF
	case !m.has[0] || m.has[1] && m.head[0].Timestamp.After(m.head[1].Timestamp):
		i = 1
	}
	m.has[i] = false
	*p = m.head[i]
	p.Origin = i
	if i == 1 && p.Interface >= 0 {
		p.Interface += len(m.src[0].Interfaces())
	}
	return nil
}

// interfaces is both captures' interfaces so far.
func (m *merged) interfaces() []Interface {
	a, b := m.src[0].Interfaces(), m.src[1].Interfaces()
	if len(m.ifaces) != len(a)+len(b) {
		m.ifaces = append(append(m.ifaces[:0], a...), b...)
	}
	return m.ifaces
}
