package bandit

import (
	"math"
	"slices"
)

// WinTolerance is the absolute error bound WinProbabilities works to for
// each arm's probability. Propensities are used as 1/p in off-policy
// estimates, so an error of 1e-10 on a propensity of 10^-4 (an arm that
// is almost never chosen) still changes its weight by less than 1e-6
// relative.
const WinTolerance = 1e-10

// maxWinIntervals bounds the adaptive subdivision; smooth integrands need
// a few dozen intervals, and Beta densities with a shape below 1 (a
// singular density at 0 or 1) a few hundred.
const maxWinIntervals = 4000

// Gauss–Kronrod 15-point nodes and weights on [-1, 1] (QUADPACK qk15); the
// 7-point Gauss rule uses the odd-indexed nodes.
var (
	gkNodes = [8]float64{
		0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
		0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
		0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
		0.207784955007898467600689403773245, 0,
	}
	gkWeights = [8]float64{
		0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
		0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
		0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
		0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
	}
	gWeights = [4]float64{ // at gkNodes[1], [3], [5], [7]
		0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
		0.381830050505118944950369775488975, 0.417959183673469387755102040816327,
	}
)

// WinProbabilities returns, for independent X_i ~ arms[i], the probability
// that X_i is the largest:
//
//	P_i = ∫₀¹ f_i(x) Π_{j≠i} F_j(x) dx
//
// with f the Beta density and F the regularized incomplete beta function.
// That is the exact probability that one Thompson-sampling draw chooses
// arm i. The integral of all arms at once is computed by globally adaptive
// Gauss–Kronrod (15 points) on [0, 1], first split at each arm's mean ± 3,
// 8 and 20 standard deviations so that no narrow density is stepped over.
//
// errBound is max_i Σ |K15_i − G7_i| over the final subintervals: the
// error estimate of the embedded 7-point Gauss rule, which bounds the
// error of the 15-point result returned for integrands that are smooth on
// each subinterval (the Kronrod result is far more accurate than the Gauss
// one it is compared with), plus roundingBound, the float64 error of the
// special functions. The quadrature part is at most WinTolerance unless
// the subdivision limit was reached. Every shape must be at least 1 (no
// singular density); otherwise errBound is +Inf and p is all zero. No
// probability is below errBound (which is positive): a dominated arm whose
// probability underflows gets errBound, so every arm a draw can choose
// has a usable propensity. The probabilities sum to 1 within
// len(arms)·errBound; the tests check both the sum and agreement with 10^6
// Monte Carlo draws.
func WinProbabilities(arms []Beta) (p []float64, errBound float64) {
	k := len(arms)
	p = make([]float64, k)
	if k == 0 {
		return p, 0
	}
	if k == 1 {
		p[0] = 1
		return p, 0
	}
	for _, d := range arms {
		if !(d.Alpha >= 1 && d.Beta >= 1) {
			// A shape below 1 makes a density singular at 0 or 1, where
			// the rule's error estimate means nothing.
			return p, math.Inf(1)
		}
	}
	w := newWinIntegrand(arms)
	q := newIntervalQueue(k)
	pts := breakpoints(arms)
	for i := 1; i < len(pts); i++ {
		q.push(w.integrate(pts[i-1], pts[i]))
	}
	for len(q.ivs) < maxWinIntervals {
		if q.total() <= WinTolerance && q.exactTotal() <= WinTolerance {
			break
		}
		iv := q.ivs[0]
		mid := (iv.a + iv.b) / 2
		if mid <= iv.a || mid >= iv.b {
			break // the interval cannot be split in float64
		}
		q.pop()
		q.push(w.integrate(iv.a, mid))
		q.push(w.integrate(mid, iv.b))
	}
	errs := make([]float64, k)
	for _, iv := range q.ivs {
		for i := range k {
			p[i] += iv.res[i]
			errs[i] += iv.err[i]
		}
	}
	bound := slices.Max(errs) + roundingBound(arms)
	for i := range k {
		// A dominated arm's probability underflows to 0 (or the rule's
		// error makes it slightly negative), yet a draw can still choose
		// it, and a propensity of 0 is no propensity: the slate check and
		// the learner refuse it, and 1/p is infinite. Its true value lies
		// in [0, bound], so bound is as exact an answer, and positive.
		p[i] = min(max(p[i], bound), 1)
	}
	return p, bound
}

// roundingBound bounds the error that float64 rounding adds: the density
// and the incomplete beta both take exp of a sum of terms as large as
// ln Γ(α+β), which cancel to a small number, so each factor of the
// integrand carries a relative error of a few ulps of ln Γ(α+β). For
// counts near 10^5 that is about 10^-9; for counts below 10^3, 10^-13.
func roundingBound(arms []Beta) float64 {
	const ulp = 0x1p-52
	total := 0.0
	for _, d := range arms {
		la, _ := math.Lgamma(d.Alpha)
		lb, _ := math.Lgamma(d.Beta)
		lab, _ := math.Lgamma(d.Alpha + d.Beta)
		total += 8 * ulp * (math.Abs(la) + math.Abs(lb) + math.Abs(lab))
	}
	return total
}

// winInterval is one subinterval's Kronrod results and error estimates,
// one per arm.
type winInterval struct {
	a, b     float64
	res, err []float64
	// worst is the largest of err, the queue's key.
	worst float64
}

// breakpoints are 0, 1 and each arm's mean ± 3, 8 and 20 standard
// deviations inside (0, 1), sorted and distinct.
func breakpoints(arms []Beta) []float64 {
	pts := []float64{0, 1}
	for _, d := range arms {
		m, s := d.Mean(), d.StdDev()
		for _, t := range []float64{-20, -8, -3, 0, 3, 8, 20} {
			if x := m + t*s; x > 0 && x < 1 {
				pts = append(pts, x)
			}
		}
	}
	slices.Sort(pts)
	return slices.Compact(pts)
}

// winIntegrand evaluates all arms' integrands f_i Π_{j≠i} F_j at one x
// with 2k special-function calls, sharing the F_j between arms.
type winIntegrand struct {
	arms           []Beta
	logB           []float64
	f, cdf, prefix []float64 // scratch, len k, k, k+1
}

func newWinIntegrand(arms []Beta) *winIntegrand {
	k := len(arms)
	w := &winIntegrand{arms: arms, logB: make([]float64, k), f: make([]float64, k), cdf: make([]float64, k), prefix: make([]float64, k+1)}
	for i, d := range arms {
		w.logB[i] = logB(d.Alpha, d.Beta)
	}
	return w
}

// eval adds weight·integrand_i(x) to out[i] for every arm.
func (w *winIntegrand) eval(x, weight float64, out []float64) {
	lx, l1x := math.Log(x), math.Log1p(-x)
	for i, d := range w.arms {
		w.f[i] = math.Exp((d.Alpha-1)*lx + (d.Beta-1)*l1x - w.logB[i])
		w.cdf[i] = incBeta(x, d.Alpha, d.Beta)
	}
	w.prefix[0] = 1
	for i, c := range w.cdf {
		w.prefix[i+1] = w.prefix[i] * c
	}
	suffix := 1.0
	for i := len(w.arms) - 1; i >= 0; i-- {
		out[i] += weight * w.f[i] * w.prefix[i] * suffix
		suffix *= w.cdf[i]
	}
}

func (w *winIntegrand) integrate(a, b float64) winInterval {
	k := len(w.arms)
	iv := winInterval{a: a, b: b, res: make([]float64, k), err: make([]float64, k)}
	gauss := make([]float64, k)
	tmp := make([]float64, k)
	c, h := (a+b)/2, (b-a)/2
	for n := range 8 {
		xs := []float64{c - h*gkNodes[n], c + h*gkNodes[n]}
		if n == 7 {
			xs = xs[:1]
		}
		clear(tmp)
		for _, x := range xs {
			w.eval(x, 1, tmp)
		}
		for i := range k {
			iv.res[i] += h * gkWeights[n] * tmp[i]
			if n%2 == 1 {
				gauss[i] += h * gWeights[n/2] * tmp[i]
			}
		}
	}
	for i := range k {
		iv.err[i] = math.Abs(iv.res[i] - gauss[i])
		iv.worst = max(iv.worst, iv.err[i])
	}
	return iv
}

// intervalQueue holds WinProbabilities' subintervals as a max-heap on
// their largest per-arm error, with each arm's running total error, so
// that a subdivision step costs O(k + log n): picking the worst interval
// by scanning all n of them (and re-summing the totals) made a refresh up
// to maxWinIntervals steps of O(n·k), O(n²·k) in all.
type intervalQueue struct {
	ivs    []winInterval // heap order: ivs[0] has the largest worst
	totals []float64     // per arm, Σ err over ivs (running)
}

func newIntervalQueue(k int) *intervalQueue {
	return &intervalQueue{totals: make([]float64, k)}
}

// total is the largest running per-arm total error. Subtracting popped
// intervals' errors can leave a rounding residue, so a total at or under
// the tolerance is confirmed with exactTotal before the loop stops.
func (q *intervalQueue) total() float64 { return slices.Max(q.totals) }

// exactTotal re-sums the totals from the intervals (O(n·k); called when
// the running total says the work is done, about once per call).
func (q *intervalQueue) exactTotal() float64 {
	clear(q.totals)
	for _, iv := range q.ivs {
		for i, e := range iv.err {
			q.totals[i] += e
		}
	}
	return q.total()
}

func (q *intervalQueue) push(iv winInterval) {
	for i, e := range iv.err {
		q.totals[i] += e
	}
	q.ivs = append(q.ivs, iv)
	for c := len(q.ivs) - 1; c > 0; {
		p := (c - 1) / 2
		if q.ivs[p].worst >= q.ivs[c].worst {
			break
		}
		q.ivs[p], q.ivs[c] = q.ivs[c], q.ivs[p]
		c = p
	}
}

// pop removes the interval with the largest error (ivs[0]).
func (q *intervalQueue) pop() winInterval {
	top := q.ivs[0]
	for i, e := range top.err {
		q.totals[i] -= e
	}
	last := len(q.ivs) - 1
	q.ivs[0] = q.ivs[last]
	q.ivs = q.ivs[:last]
	for p := 0; ; {
		c := 2*p + 1
		if c >= last {
			break
		}
		if c+1 < last && q.ivs[c+1].worst > q.ivs[c].worst {
			c++
		}
		if q.ivs[p].worst >= q.ivs[c].worst {
			break
		}
		q.ivs[p], q.ivs[c] = q.ivs[c], q.ivs[p]
		p = c
	}
	return top
}
