package tokenize

import (
	"sort"
	"sync"
	"unicode"
)

// Character class bits, as the reference BERT normalizer and pre-tokenizer see them.
const (
	classDrop       uint8 = 1 << iota // clean_text removes it
	classCleanSpace                   // clean_text turns it into ' '
	classChinese                      // handle_chinese_chars surrounds it with spaces
	classMark                         // strip_accents removes it (after NFD)
	classPunct                        // the pre-tokenizer isolates it
	classSpace                        // the pre-tokenizer splits on it
	classLower                        // lowercasing changes it
)

// denseLimit bounds the code points whose classes are held in a flat array: the Basic
// Multilingual Plane and plane 1 (emoji, historic scripts), 128 KiB. Rarer planes are
// looked up in the range tables.
const denseLimit = 0x20000

// nfdKeep is a code point that golang.org/x/text/unicode/norm decomposes (U+11938 DIVES
// AKURU VOWEL SIGN O = U+11935 U+11930, Unicode 13) but the reference's NFD leaves alone.
// It is a starter (canonical combining class 0), so NFD may run on either side of it
// separately. TestGoldenWords (unicode_golden.jsonl) checks it.
const nfdKeep rune = 0x11938

// capitalIDot is U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE, the one code point whose
// lowercase is two code points: "i" U+0307.
const capitalIDot rune = 0x130

var classTables = []struct {
	bit   uint8
	table *unicode.RangeTable
}{
	{classDrop, cleanDropTable},
	{classCleanSpace, cleanSpaceTable},
	{classChinese, chineseTable},
	{classMark, markTable},
	{classPunct, punctTable},
	{classSpace, spaceTable},
}

// denseClasses returns the class bits of every code point below denseLimit, built once.
var denseClasses = sync.OnceValue(func() *[denseLimit]uint8 {
	var c [denseLimit]uint8
	for _, ct := range classTables {
		for _, r := range ct.table.R16 {
			for x := int(r.Lo); x <= int(r.Hi); x += int(r.Stride) {
				c[x] |= ct.bit
			}
		}
		for _, r := range ct.table.R32 {
			for x := int(r.Lo); x <= int(r.Hi) && x < denseLimit; x += int(r.Stride) {
				c[x] |= ct.bit
			}
		}
	}
	for _, lr := range lowerRuns {
		for x := lr.lo; x <= lr.hi && x < denseLimit; x += lr.stride {
			c[x] |= classLower
		}
	}
	c[capitalIDot] |= classLower
	return &c
})

// sparseClass returns the class bits of a code point at or above denseLimit.
func sparseClass(r rune) uint8 {
	var c uint8
	for _, ct := range classTables {
		if unicode.Is(ct.table, r) {
			c |= ct.bit
		}
	}
	if _, ok := toLower(r); ok {
		c |= classLower
	}
	return c
}

// lowerRun maps code points lo, lo+stride, ..., hi to themselves plus delta.
type lowerRun struct {
	lo, hi, stride, delta rune
}

// toLower returns the lowercase of r from lowerRuns, and whether r has one.
func toLower(r rune) (rune, bool) {
	i := sort.Search(len(lowerRuns), func(i int) bool { return lowerRuns[i].hi >= r })
	if i == len(lowerRuns) {
		return r, false
	}
	lr := lowerRuns[i]
	if r < lr.lo || (r-lr.lo)%lr.stride != 0 {
		return r, false
	}
	return r + lr.delta, true
}

// isWhiteSpace reports whether r is White_Space, as Rust's char::is_whitespace (used by
// the reference to trim vocab.txt lines).
func isWhiteSpace(r rune) bool {
	return unicode.Is(unicode.White_Space, r)
}
