package derive

import (
	"strings"
	"unicode"
)

// Brand learning thresholds. A brand is a word that starts at least
// minBrandProducts names and appears almost only there (share >=
// brandLeadShare of the names that contain it): "Eggo" leads every name it
// is in, while "Chocolate" leads 451 Instacart names but sits inside far
// more. The brand grows by a following word that at least brandNextShare of
// its names share ("Pepperidge" → "Pepperidge Farm"), up to maxBrandWords.
const (
	minBrandProducts = 5
	brandLeadShare   = 0.9
	brandNextShare   = 0.8
	maxBrandWords    = 3
)

// notBrands are leading words the rule above would take for brands but
// that are plain English (adjectives, numbers, greetings, titles, foods
// and abbreviations that lead Instacart names: "Dr." leads many brands,
// none with a shared second word; "SF" is "sugar free").
var notBrands = map[string]bool{
	"dr.": true, "mr.": true, "mrs.": true, "st.": true, "sf": true, "expert": true,
	"burrata": true, "yakisoba": true, "chlorine": true,
	"the": true, "a": true, "an": true, "oh": true, "ten": true, "even": true,
	"hello": true, "casual": true, "genuine": true, "lucky": true, "spectacular": true,
	"organic": true, "natural": true, "original": true, "classic": true, "fresh": true,
}

// Brands recognises brands at the start of product names. It is learned
// from the whole catalogue (LearnBrands) and then read-only.
type Brands struct {
	byFirst map[string][]brand // first word key → brands starting with it, longest first
}

type brand struct {
	keys    []string // lowercased words
	display string   // the words as the first name spelled them
}

// LearnBrands finds the brands of a catalogue's names (rule in the
// constants above). exclude lists words that are never brands (the
// catalogue's own aisle and department words: "Yogurt" may lead many names
// of the yogurt aisle without being a brand). Names are read in order, so
// the result is deterministic.
func LearnBrands(names []string, exclude []string) *Brands {
	skip := map[string]bool{}
	for _, w := range exclude {
		for _, f := range strings.Fields(w) {
			skip[wordKey(f)] = true
		}
	}
	for _, f := range flavours {
		skip[f] = true
	}
	first, anywhere := map[string]int{}, map[string]int{}
	words := make([][]string, len(names))
	for i, n := range names {
		words[i] = strings.Fields(n)
		if len(words[i]) == 0 {
			continue
		}
		first[wordKey(words[i][0])]++
		seen := map[string]bool{}
		for _, w := range words[i] {
			if k := wordKey(w); !seen[k] {
				seen[k] = true
				anywhere[k]++
			}
		}
	}
	b := &Brands{byFirst: map[string][]brand{}}
	for i, ws := range words {
		if len(ws) < 2 {
			continue // a brand needs a product word after it
		}
		k := wordKey(ws[0])
		c := first[k]
		if c < minBrandProducts || float64(c) < brandLeadShare*float64(anywhere[k]) || skip[k] || notBrands[k] ||
			!startsWithLetter(k) || len(b.byFirst[k]) > 0 {
			continue
		}
		b.byFirst[k] = []brand{grow(words, i, c)}
	}
	return b
}

// grow extends the one-word brand of words[i] while most of its names
// share the next word.
func grow(words [][]string, i, count int) brand {
	keys := []string{wordKey(words[i][0])}
	for len(keys) < maxBrandWords && len(words[i]) > len(keys)+1 {
		next := wordKey(words[i][len(keys)])
		same := 0
		for _, ws := range words {
			if len(ws) > len(keys)+1 && hasPrefix(ws, keys) && wordKey(ws[len(keys)]) == next {
				same++
			}
		}
		if float64(same) < brandNextShare*float64(count) {
			break
		}
		keys = append(keys, next)
	}
	return brand{keys: keys, display: strings.TrimRight(strings.Join(words[i][:len(keys)], " "), ",;:")}
}

// Of returns the brand a name starts with, or "".
func (b *Brands) Of(name string) string {
	ws := strings.Fields(name)
	if len(ws) < 2 {
		return ""
	}
	for _, br := range b.byFirst[wordKey(ws[0])] {
		if len(ws) > len(br.keys) && hasPrefix(ws, br.keys) {
			return br.display
		}
	}
	return ""
}

// Len returns the number of brands learned.
func (b *Brands) Len() int { return len(b.byFirst) }

func hasPrefix(ws, keys []string) bool {
	for j, k := range keys {
		if wordKey(ws[j]) != k {
			return false
		}
	}
	return true
}

// wordKey lowercases a word and drops trailing punctuation ("Cereal," →
// "cereal").
func wordKey(w string) string {
	return strings.ToLower(strings.TrimRight(w, ",;:!"))
}

func startsWithLetter(s string) bool {
	for _, r := range s {
		return unicode.IsLetter(r)
	}
	return false
}
