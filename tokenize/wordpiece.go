package tokenize

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Defaults of Hugging Face's WordPiece model.
const (
	defaultUnkToken      = "[UNK]"
	defaultSubwordPrefix = "##"
	defaultMaxWordChars  = 100
)

// wordPiece is the greedy longest-match-first WordPiece model. Read-only after
// newWordPiece.
type wordPiece struct {
	first    *trie // pieces that may start a word
	cont     *trie // continuation pieces, without the subword prefix
	unk      int64
	maxChars int // longer words become unk
}

// newWordPiece builds the model from a token -> id vocabulary.
func newWordPiece(vocab map[string]int32, unkToken, prefix string, maxChars int) (*wordPiece, error) {
	unk, ok := vocab[unkToken]
	if !ok {
		return nil, fmt.Errorf("unknown token %q not in vocabulary", unkToken)
	}
	if prefix == "" {
		return nil, fmt.Errorf("%w: empty continuing_subword_prefix", ErrUnsupported)
	}
	cont := make(map[string]int32, len(vocab)/4)
	for tok, id := range vocab {
		if rest, ok := strings.CutPrefix(tok, prefix); ok && rest != "" {
			cont[rest] = id
		}
	}
	return &wordPiece{first: newTrie(vocab), cont: newTrie(cont), unk: int64(unk), maxChars: maxChars}, nil
}

// appendIDs appends the ids of one pre-tokenized word: the longest vocabulary piece at the
// start, then the longest continuation piece at each next position, or the unknown token
// alone when some position has no piece or the word is longer than maxChars characters.
// This is the reference's search, which tries ever shorter prefixes in the vocabulary.
func (wp *wordPiece) appendIDs(ids []int64, word []byte) []int64 {
	if len(word) > wp.maxChars && utf8.RuneCount(word) > wp.maxChars {
		return append(ids, wp.unk)
	}
	mark := len(ids)
	pieces := wp.first
	for start := 0; start < len(word); {
		n, id := pieces.longest(word[start:])
		if n == 0 {
			return append(ids[:mark], wp.unk)
		}
		ids = append(ids, int64(id))
		start += n
		pieces = wp.cont
	}
	return ids
}
