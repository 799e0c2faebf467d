package bandit

import (
	"math"
	"math/rand/v2"
)

// Beta is a Beta(Alpha, Beta) distribution, the posterior of a Bernoulli
// arm's reward rate. Both parameters are positive.
type Beta struct {
	Alpha, Beta float64
}

// Mean is Alpha/(Alpha+Beta).
func (d Beta) Mean() float64 { return d.Alpha / (d.Alpha + d.Beta) }

// StdDev is the distribution's standard deviation.
func (d Beta) StdDev() float64 {
	s := d.Alpha + d.Beta
	return math.Sqrt(d.Alpha * d.Beta / (s * s * (s + 1)))
}

// logB is ln B(a, b).
func logB(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// PDF is the density at x; 0 outside (0, 1).
func (d Beta) PDF(x float64) float64 {
	if x <= 0 || x >= 1 {
		return 0
	}
	return math.Exp((d.Alpha-1)*math.Log(x) + (d.Beta-1)*math.Log1p(-x) - logB(d.Alpha, d.Beta))
}

// CDF is the regularized incomplete beta function I_x(Alpha, Beta).
func (d Beta) CDF(x float64) float64 { return incBeta(x, d.Alpha, d.Beta) }

// incBetaEps is the relative accuracy the continued fraction of incBeta
// runs to; incBetaMaxIter bounds its iterations. Lentz's continued fraction
// needs O(sqrt(max(a, b))) iterations: about 500 for the largest Open
// Bandit priors (b ≈ 222,000), so 20,000 leaves room for counts near 10^8.
const (
	incBetaEps     = 1e-15
	incBetaMaxIter = 20000
)

// incBeta is I_x(a, b) by the continued fraction of Numerical Recipes
// (betai/betacf, modified Lentz), using the symmetry I_x(a,b) = 1 -
// I_{1-x}(b,a) where the fraction converges slowly. Its relative error is
// about incBetaEps.
func incBeta(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	front := math.Exp(a*math.Log(x) + b*math.Log1p(-x) - logB(a, b))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(x, a, b) / a
	}
	return 1 - front*betaCF(1-x, b, a)/b
}

func betaCF(x, a, b float64) float64 {
	const tiny = 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= incBetaMaxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < incBetaEps {
			break
		}
	}
	return h
}

// Sample draws from the distribution as G1/(G1+G2) with G1 ~ Gamma(Alpha)
// and G2 ~ Gamma(Beta).
func (d Beta) Sample(rng *rand.Rand) float64 {
	x := gammaSample(rng, d.Alpha)
	y := gammaSample(rng, d.Beta)
	return x / (x + y)
}

// gammaSample draws from Gamma(shape, 1) by Marsaglia and Tsang's method;
// shapes below 1 use Gamma(shape+1)·U^(1/shape).
func gammaSample(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		u := rng.Float64()
		for u == 0 {
			u = rng.Float64()
		}
		return gammaSample(rng, shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x {
			return d * v
		}
		if u > 0 && math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
