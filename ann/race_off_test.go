//go:build !race

package ann

const raceOn = false
