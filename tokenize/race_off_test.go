//go:build !race

package tokenize

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = false
