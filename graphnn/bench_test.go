package graphnn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomCarts returns n carts of 1..maxLen items drawn from numItems items,
// with a skew towards popular items like real baskets (seeded, reproducible).
func randomCarts(n, maxLen, numItems int) [][]int64 {
	r := rand.New(rand.NewPCG(1, 2))
	carts := make([][]int64, n)
	for i := range carts {
		c := make([]int64, 1+r.IntN(maxLen))
		for j := range c {
			c[j] = int64(r.IntN(1 + r.IntN(numItems)))
		}
		carts[i] = c
	}
	return carts
}

// BenchmarkBuild measures Build on batches of Groceries-like carts; ns/cart
// is the cost per cart.
func BenchmarkBuild(b *testing.B) {
	for _, bc := range []struct{ batch, maxLen int }{{1, 8}, {64, 8}, {64, 50}} {
		b.Run(fmt.Sprintf("batch=%d/maxlen=%d", bc.batch, bc.maxLen), func(b *testing.B) {
			carts := randomCarts(bc.batch, bc.maxLen, 169)
			var bld Builder
			var dst Batch
			b.ReportAllocs()
			for b.Loop() {
				if err := bld.Build(carts, &dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bc.batch), "ns/cart")
		})
	}
}
