package ope

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// DefaultSmoothing is the pseudo-count of FillDR's reward table: each
// (action, position) cell's mean is shrunk towards its fold's overall mean
// as if 10 rounds at that mean had been seen, so a cell with 300 rounds
// and no click (common at click rates near 0.5%) predicts a small rate,
// not 0.
const DefaultSmoothing = 10

// MaxTableCells bounds FillDR's reward table (actions × positions): one
// corrupt line of a log (an item id near ReadOBD's 2^20 limit at position
// 100) asked for 10^8 cells, three float64 tables of 2.4 GB per fold. 2^20
// cells is 24 MB per fold, and far above real logs (the Open Bandit
// Dataset has 80 items × 3 positions, a surface a few arms × 100 slots).
const MaxTableCells = 1 << 20

// FillDR fills the Direct and Predicted terms of every round from a
// context-free reward model: the smoothed mean reward of each (action,
// position) cell, fitted by k-fold cross-fitting (rounds are dealt to
// folds by a fixed pseudo-random permutation, not by index, since logs
// often repeat with a period, and each round is predicted by the table of
// the other folds), so that no round's own reward enters its prediction. target(position) is the
// evaluated policy's distribution over actions at a position (length
// numActions). folds < 2 fits one table on every round.
func FillDR(rounds []Round, numActions, numPositions, folds int, target func(position int) []float64) error {
	if folds < 2 {
		folds = 1
	}
	if numActions < 0 || numPositions < 0 || numActions > MaxTableCells || numPositions > MaxTableCells || numActions*numPositions > MaxTableCells {
		return fmt.Errorf("%w: %d actions × %d positions need a reward table of more than %d cells (action ids and positions must be dense, from 0)", ErrBadLog, numActions, numPositions, MaxTableCells)
	}
	for i, r := range rounds {
		if r.Action < 0 || r.Action >= numActions || r.Position < 0 || r.Position >= numPositions {
			return fmt.Errorf("%w: round %d: action %d position %d outside %d × %d", ErrBadLog, i, r.Action, r.Position, numActions, numPositions)
		}
	}
	fold := foldOf(len(rounds), folds)
	for f := range folds {
		q := fitTable(rounds, numActions, numPositions, fold, f)
		for i := range rounds {
			if fold[i] != f {
				continue
			}
			r := &rounds[i]
			dist := target(r.Position)
			r.Direct = 0
			for a, p := range dist {
				r.Direct += p * q[a*numPositions+r.Position]
			}
			r.Predicted = q[r.Action*numPositions+r.Position]
		}
	}
	return nil
}

// foldOf deals n rounds to folds in equal shares by a fixed permutation.
func foldOf(n, folds int) []int {
	fold := make([]int, n)
	for i, j := range rand.New(rand.NewPCG(0x666f6c64, 1)).Perm(n) {
		fold[j] = i % folds
	}
	return fold
}

// fitTable returns the smoothed mean reward per (action, position) over
// the rounds outside fold f (all rounds when there is one fold).
func fitTable(rounds []Round, numActions, numPositions int, fold []int, f int) []float64 {
	single := slices.Max(append([]int{0}, fold...)) == 0
	sum := make([]float64, numActions*numPositions)
	n := make([]float64, numActions*numPositions)
	var total, count float64
	for i, r := range rounds {
		if !single && fold[i] == f {
			continue
		}
		c := r.Action*numPositions + r.Position
		sum[c] += r.Reward
		n[c]++
		total += r.Reward
		count++
	}
	prior := 0.0
	if count > 0 {
		prior = total / count
	}
	q := make([]float64, len(sum))
	for c := range q {
		q[c] = (sum[c] + DefaultSmoothing*prior) / (n[c] + DefaultSmoothing)
	}
	return q
}
