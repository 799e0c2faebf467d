package excerpt

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxBytes is the longest prefix of a client string that Quote keeps: enough
// for any real model, input or output name (repository names are at most 128
// bytes, but 64 tell them apart), short enough that a message quoting several
// of them stays far below a header limit.
const MaxBytes = 64

// MaxDims is the most dimensions of a client shape that Shape writes.
const MaxDims = 8

// Quote returns s as a Go-quoted string, like %q, cut to its first MaxBytes
// bytes (on a rune boundary) and marked with "…" and the full length when
// cut.
func Quote(s string) string {
	if len(s) <= MaxBytes {
		return strconv.Quote(s)
	}
	cut := MaxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// Shape formats a shape like %v ("[2 3]"), writing at most MaxDims
// dimensions and then "…" with the total rank.
func Shape(shape []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range shape {
		if i == MaxDims {
			b.WriteString(" …(" + strconv.Itoa(len(shape)) + " dims)")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(d, 10))
	}
	b.WriteByte(']')
	return b.String()
}

// Text cuts a message that is not client input (a runtime error) to at most
// n bytes on a rune boundary, ending it with "…" when cut. Log lines use it
// so that one failure cannot write megabytes.
func Text(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
