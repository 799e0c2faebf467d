package ope

import (
	"errors"
	"strings"
	"testing"
)

// One round with a huge action id would make the reward table 10^8 cells
// (2.4 GB per fold): FillDR refuses it with ErrBadLog before allocating;
// a dense log of the same size fits.
func TestFillDRCapsTheTable(t *testing.T) {
	rounds := []Round{{Action: 1<<20 - 1, Position: 99, Reward: 1, Propensity: 0.5, Target: 1}}
	uniform := func(int) []float64 { return nil }
	err := FillDR(rounds, 1<<20, 100, 2, uniform)
	if !errors.Is(err, ErrBadLog) || !strings.Contains(err.Error(), "reward table") {
		t.Fatalf("FillDR over 2^20 actions × 100 positions: %v, want ErrBadLog naming the reward table", err)
	}
	if err := FillDR(rounds, 1<<20, 1<<20, 2, uniform); !errors.Is(err, ErrBadLog) {
		t.Fatalf("FillDR over 2^40 cells (overflow check): %v", err)
	}
	rounds = []Round{{Action: 1, Position: 2, Reward: 1, Propensity: 0.5, Target: 1}}
	if err := FillDR(rounds, 2, 3, 2, func(int) []float64 { return []float64{0, 1} }); err != nil {
		t.Fatal(err)
	}
}
