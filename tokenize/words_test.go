package tokenize

import (
	"slices"
	"testing"
)

func TestBasicWords(t *testing.T) {
	for text, want := range map[string][]string{
		"Crème Fraîche, 8oz":   {"creme", "fraiche", ",", "8oz"},
		"  rolls/buns ":        {"rolls", "/", "buns"},
		"UHT-milk\tArtif. Swt": {"uht", "-", "milk", "artif", ".", "swt"},
		"":                     nil,
	} {
		if got := BasicWords(text); !slices.Equal(got, want) {
			t.Errorf("BasicWords(%q) = %q, want %q", text, got, want)
		}
	}
}

// TestBasicWordsMatchesTokenizer checks BasicWords against the words of the
// committed bert-base-uncased-style tokenizer on the golden texts.
func TestBasicWordsMatchesTokenizer(t *testing.T) {
	tok := sharedLoad(t, tokenizerJSONPath, Options{})
	for _, g := range readGolden(t, goldenPath) {
		if got, want := BasicWords(g.Text), tok.words(g.Text); !slices.Equal(got, want) {
			t.Errorf("BasicWords(%q) = %q, tokenizer words %q", g.Text, got, want)
		}
	}
}
