//go:build race

package ann

// raceOn shrinks the synthetic sets under the race detector, which slows the
// build about tenfold; the full sizes run without -race.
const raceOn = true
