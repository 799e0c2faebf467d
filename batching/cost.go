package batching

import (
	"math"
	"time"
)

// costModel estimates a batch's execution time from its rows as
// a + b·rows, fitted by exponentially weighted least squares over the
// batches executed so far. Batch cost on a CPU runtime is close to linear
// in the rows once the fixed part (kernel launches, graph traversal, one
// Run call) is paid: the benchmark encoder measures ~1.2 ms for one row and
// ~0.9 ms a row at 64 (BENCHMARKS.md §1a), and the MLP is almost all fixed
// part. Weighting recent batches more (a memory of about 1/(1-costDecay)
// batches) lets the fit follow a machine whose load from other processes
// changes.
//
// Its fields are guarded by the Scheduler's mu.
type costModel struct {
	n                   int     // batches observed
	w, sx, sy, sxx, sxy float64 // decayed sums of weights, x (rows), y (seconds), x², x·y
	a, b                float64 // fitted fixed cost and per-row cost, seconds
}

// costDecay weighs batch k observations back by costDecay^k: about the last
// 200 batches count, a few seconds of traffic at the encoder's rates.
const costDecay = 0.995

// observe adds one executed batch and refits a and b.
func (c *costModel) observe(rows int, d time.Duration) {
	x, y := float64(rows), d.Seconds()
	c.w = c.w*costDecay + 1
	c.sx = c.sx*costDecay + x
	c.sy = c.sy*costDecay + y
	c.sxx = c.sxx*costDecay + x*x
	c.sxy = c.sxy*costDecay + x*y
	c.n++
	c.fit()
}

// fit solves the weighted least squares. With too little spread in batch
// sizes to separate the fixed part (every batch of one row, as at light
// load) it assumes the cost is all fixed part, a = mean(y), b = 0. That
// underestimates larger batches, so admission refuses nothing on a guess;
// the first burst forms larger batches (the queue grows behind the busy
// instance whatever admission does) and their measurements correct the
// fit within a batch or two. The opposite guess, no fixed part, refused
// the texts of a single 100-text EmbedQuery on an idle server: the
// session's first runs are slow, and scaling one of them by 40 rows
// predicted 72 ms where the batch took 4. Both terms are kept
// non-negative.
func (c *costModel) fit() {
	mx, my := c.sx/c.w, c.sy/c.w
	varx := c.sxx/c.w - mx*mx
	if varx < 0.25 { // under half a row of spread
		c.a, c.b = my, 0
		return
	}
	c.b = (c.sxy/c.w - mx*my) / varx
	c.a = my - c.b*mx
	switch {
	case c.b < 0:
		c.a, c.b = my, 0
	case c.a < 0:
		c.a, c.b = 0, my/mx
	}
}

// known reports whether any batch was measured.
func (c *costModel) known() bool { return c.n > 0 }

// predict returns the expected execution time of a batch of rows.
func (c *costModel) predict(rows int) time.Duration {
	return seconds(c.a + c.b*float64(rows))
}

// largest returns the most rows, in [1, limit], whose batch is expected to
// run within budget; 1 if even one row is not.
func (c *costModel) largest(budget time.Duration, limit int) int {
	if c.b <= 0 {
		if c.predict(1) <= budget {
			return limit
		}
		return 1
	}
	// The epsilon keeps a fit that lands on a whole row, up to rounding,
	// from losing it.
	n := int(math.Floor((budget.Seconds()-c.a)/c.b + 1e-9))
	return min(max(n, 1), limit)
}

func seconds(s float64) time.Duration {
	if s >= math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(math.Round(s * float64(time.Second)))
}
