package ann

import (
	"fmt"
	"math"
)

// Metric says how a query is compared with an item. Every metric is reported
// as a score where higher is better, so results of any metric sort the same
// way.
type Metric int

const (
	// Cosine scores by the cosine of the angle between query and item. Items
	// and queries are normalised once (items at Build, the query per search),
	// so the search itself runs on dot products. A zero item scores 0 against
	// every query; a zero query is refused (ErrBadVector).
	Cosine Metric = iota + 1
	// Dot scores by the inner product, as a model trained on dot-product
	// logits (the cart GNN) ranks items.
	Dot
	// L2 scores by the negated squared Euclidean distance.
	L2
)

// String returns the name ParseMetric accepts.
func (m Metric) String() string {
	switch m {
	case Cosine:
		return "cosine"
	case Dot:
		return "dot"
	case L2:
		return "l2"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// ParseMetric reads a metric name as a model's config.yaml spells it:
// "cosine", "dot" or "l2".
func ParseMetric(s string) (Metric, error) {
	switch s {
	case "cosine":
		return Cosine, nil
	case "dot":
		return Dot, nil
	case "l2":
		return L2, nil
	}
	return 0, fmt.Errorf("%w: metric %q (want cosine, dot or l2)", ErrBadConfig, s)
}

// dist is the internal distance: lower is better, and score = -dist. Cosine
// runs as Dot on normalised vectors.
func (m Metric) dist(a, b []float32) float32 {
	if m == L2 {
		return l2sq(a, b)
	}
	return -dot(a, b)
}

// dot and l2sq are unrolled into four accumulators and walk the slices by
// reslicing, which drops the bounds checks: the compiler does not vectorise,
// and independent sums let the CPU overlap the multiply-adds (about 40 ns
// at dim 128 on the project machine, 10-20% under the plain loop).
func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	for len(a) >= 8 && len(b) >= 8 {
		s0 += a[0]*b[0] + a[4]*b[4]
		s1 += a[1]*b[1] + a[5]*b[5]
		s2 += a[2]*b[2] + a[6]*b[6]
		s3 += a[3]*b[3] + a[7]*b[7]
		a, b = a[8:], b[8:]
	}
	for i := range a {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func l2sq(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	for len(a) >= 8 && len(b) >= 8 {
		d0, d1, d2, d3 := a[0]-b[0], a[1]-b[1], a[2]-b[2], a[3]-b[3]
		d4, d5, d6, d7 := a[4]-b[4], a[5]-b[5], a[6]-b[6], a[7]-b[7]
		s0 += d0*d0 + d4*d4
		s1 += d1*d1 + d5*d5
		s2 += d2*d2 + d6*d6
		s3 += d3*d3 + d7*d7
		a, b = a[8:], b[8:]
	}
	for i := range a {
		d := a[i] - b[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// normalize scales v to unit length in place and reports whether it was
// non-zero. A zero vector stays zero.
func normalize(v []float32) bool {
	n := math.Sqrt(float64(dot(v, v)))
	if n == 0 {
		return false
	}
	inv := float32(1 / n)
	for i := range v {
		v[i] *= inv
	}
	return true
}

// finite reports whether every element of v is a finite number.
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
