package tokenize

import (
	"sort"
	"strings"
)

// addedVocab matches the tokenizer.json added tokens ([CLS], [SEP], ...) in raw text, as
// the reference does before normalizing: leftmost match first, the longest token at that
// position. Read-only after newAddedVocab.
type addedVocab struct {
	tokens []addedToken // longest first
	first  [256]bool    // first bytes of the tokens
	only   int          // the one first byte of all tokens, or -1
}

// addedToken is one added token matched verbatim (normalized: false).
type addedToken struct {
	content string
	id      int64
}

func newAddedVocab(tokens []addedToken) *addedVocab {
	if len(tokens) == 0 {
		return nil
	}
	a := &addedVocab{tokens: append([]addedToken(nil), tokens...)}
	sort.SliceStable(a.tokens, func(i, j int) bool { return len(a.tokens[i].content) > len(a.tokens[j].content) })
	a.only = int(a.tokens[0].content[0])
	for _, tok := range a.tokens {
		a.first[tok.content[0]] = true
		if int(tok.content[0]) != a.only {
			a.only = -1
		}
	}
	return a
}

// find returns the byte span and id of the leftmost-longest added token in text, or
// start -1.
func (a *addedVocab) find(text string) (start, end int, id int64) {
	for i := 0; i < len(text); i++ {
		if a.only >= 0 {
			// All BERT special tokens start with '['.
			j := strings.IndexByte(text[i:], byte(a.only))
			if j < 0 {
				break
			}
			i += j
		} else if !a.first[text[i]] {
			continue
		}
		for _, tok := range a.tokens {
			if strings.HasPrefix(text[i:], tok.content) {
				return i, i + len(tok.content), tok.id
			}
		}
	}
	return -1, -1, 0
}
