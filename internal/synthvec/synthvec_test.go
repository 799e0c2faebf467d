package synthvec

import "testing"

// AllowPercent admits about p% of the rows at every p the benchmarks use,
// none at 0 and all at 100.
func TestAllowPercent(t *testing.T) {
	const n = 100000
	for _, p := range []int{0, 1, 2, 5, 10, 20, 50, 100} {
		allow, hit := AllowPercent(p), 0
		for r := range n {
			if allow(r) {
				hit++
			}
		}
		got := 100 * float64(hit) / n
		if (p == 0 || p == 100) && got != float64(p) || got < float64(p)-0.5 || got > float64(p)+0.5 {
			t.Errorf("p=%d: %.2f%% admitted", p, got)
		}
	}
}
