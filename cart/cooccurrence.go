package cart

import "math"

// cooccurrence is item-to-item co-occurrence, as scripts/gnn/baselines.py
// Cooccurrence: w(i, j) is the number of training sessions holding both
// items, divided by sqrt(n_i n_j) when cosine; a cart scores item j with
// the sum of w(i, j) over its distinct items i. A dense items × items
// matrix: 169² float64 is 228 KB, and a request reads one row per cart item.
type cooccurrence struct {
	n int
	w []float64 // row-major [i*n + j]
}

func newCooccurrence(sessions [][]int32, numItems int, cosine bool) *cooccurrence {
	c := &cooccurrence{n: numItems, w: make([]float64, numItems*numItems)}
	count := make([]float64, numItems)
	for _, rows := range sessions {
		u := distinct(rows)
		for _, i := range u {
			count[i]++
			for _, j := range u {
				if j != i {
					c.w[int(i)*numItems+int(j)]++
				}
			}
		}
	}
	if cosine {
		for i := range numItems {
			for j := range numItems {
				if x := c.w[i*numItems+j]; x != 0 {
					c.w[i*numItems+j] = x / math.Sqrt(count[i]*count[j])
				}
			}
		}
	}
	return c
}

// score overwrites out with the cart's co-occurrence scores; cart holds
// distinct rows, ascending.
func (c *cooccurrence) score(cart []int32, out []float64) {
	clear(out)
	for _, i := range cart {
		row := c.w[int(i)*c.n : int(i+1)*c.n]
		for j, x := range row {
			if x != 0 {
				out[j] += x
			}
		}
	}
}
