package htmlreport

// Downsample bounds a long series to at most limit points (limit >= 4):
// the first and last points stay, and the points between go into
// (limit-2)/2 buckets of consecutive points, each keeping its lowest and
// its highest point, in their order. Unlike an average, this keeps the
// dips and peaks a reader looks for (a rate that fell for 100 ms in an
// hour's run). A series no longer than limit comes back as it is.
func Downsample(x, y []float64, limit int) ([]float64, []float64) {
	n := min(len(x), len(y))
	limit = max(limit, 4)
	if n <= limit {
		return x[:n], y[:n]
	}
	buckets, inner := (limit-2)/2, n-2
	ox, oy := append(make([]float64, 0, limit), x[0]), append(make([]float64, 0, limit), y[0])
	for k := range buckets {
		lo, hi := 1+k*inner/buckets, 1+(k+1)*inner/buckets
		a, b := lo, lo // the lowest and the highest
		for i := lo; i < hi; i++ {
			if y[i] < y[a] {
				a = i
			}
			if y[i] > y[b] {
				b = i
			}
		}
		if a > b {
			a, b = b, a
		}
		ox, oy = append(ox, x[a]), append(oy, y[a])
		if b != a {
			ox, oy = append(ox, x[b]), append(oy, y[b])
		}
	}
	return append(ox, x[n-1]), append(oy, y[n-1])
}
