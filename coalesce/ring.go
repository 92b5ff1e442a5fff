package coalesce

// ring is a FIFO of runs that reuses its storage.
type ring struct {
	buf        []*run
	head, size int
}

func (q *ring) len() int      { return q.size }
func (q *ring) front() *run   { return q.buf[q.head] }
func (q *ring) at(i int) *run { return q.buf[(q.head+i)&(len(q.buf)-1)] }

func (q *ring) back() *run {
	if q.size == 0 {
		return nil
	}
	return q.at(q.size - 1)
}

func (q *ring) push(r *run) {
	if q.size == len(q.buf) {
		nb := make([]*run, max(16, 2*len(q.buf)))
		for i := 0; i < q.size; i++ {
			nb[i] = q.at(i)
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)&(len(q.buf)-1)] = r
	q.size++
}

func (q *ring) pop() {
	q.buf[q.head] = nil
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.size--
}
