package tokenize

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// mapWordPiece is the reference's WordPiece search written plainly: at each position try
// ever shorter substrings in the vocabulary map.
func mapWordPiece(vocab map[string]int32, word string) []int64 {
	unk := []int64{int64(vocab[defaultUnkToken])}
	if utf8.RuneCountInString(word) > defaultMaxWordChars {
		return unk
	}
	var ids []int64
	for start := 0; start < len(word); {
		end := len(word)
		found := false
		for end > start {
			piece := word[start:end]
			if start > 0 {
				piece = defaultSubwordPrefix + piece
			}
			if id, ok := vocab[piece]; ok {
				ids = append(ids, int64(id))
				found = true
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if !found {
			return unk
		}
		start = end
	}
	return ids
}

func TestWordPieceMatchesPlainSearch(t *testing.T) {
	sp, err := parseVocabTxt(mustRead(t, vocabPath))
	if err != nil {
		t.Fatal(err)
	}
	wp, err := newWordPiece(sp.vocab, defaultUnkToken, defaultSubwordPrefix, defaultMaxWordChars)
	if err != nil {
		t.Fatal(err)
	}
	words := []string{
		"a", "milk", "unaffable", "zitrusfruchte", "##", "##s", "s##", "ß", "weißbrot", "牛", "🥑",
		"xyzzyq", strings.Repeat("a", 100), strings.Repeat("a", 101), strings.Repeat("é", 100), strings.Repeat("é", 101),
	}
	for tok := range sp.vocab {
		words = append(words, tok, tok+"s", "re"+tok, tok+tok)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcdefghijklmnopqrstuvwxyzäöüßé#牛🥑0123")
	for range 20000 {
		w := make([]rune, 1+rng.IntN(12))
		for i := range w {
			w[i] = alphabet[rng.IntN(len(alphabet))]
		}
		words = append(words, string(w))
	}
	for _, w := range words {
		got := wp.appendIDs(nil, []byte(w))
		if want := mapWordPiece(sp.vocab, w); !slices.Equal(got, want) {
			t.Fatalf("%q: trie %v, plain search %v", w, got, want)
		}
	}
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
