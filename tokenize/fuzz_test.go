package tokenize

import (
	"errors"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzEncode checks that Encode never panics, that valid text gives a well-formed
// Encoding with ids in the vocabulary, that invalid UTF-8 gives ErrInvalidUTF8, and that
// the tokenizer.json and vocab.txt tokenizers agree, and that the ASCII fast path and the
// general path give the same words.
func FuzzEncode(f *testing.F) {
	const maxSeqLen = 64
	fromJSON := mustLoad(f, tokenizerJSONPath, Options{MaxSeqLen: maxSeqLen})
	fromVocab := mustLoad(f, vocabPath, Options{MaxSeqLen: maxSeqLen})
	vocabSize := int64(len(goldenVocab()) - 1) // the file ends with a newline
	for _, text := range []string{"", "whole milk", "Crème Brûlée [SEP] 牛奶 🥑", "a\u0301\u0000\u200b\t", "\xff\xfe", "[MASK"} {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		enc, err := fromJSON.Encode(text)
		if !utf8.ValidString(text) {
			if !errors.Is(err, ErrInvalidUTF8) {
				t.Fatalf("Encode(%q) error %v, want ErrInvalidUTF8", text, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Encode(%q): %v", text, err)
		}
		n := len(enc.IDs)
		if n < 2 || n > maxSeqLen || len(enc.TypeIDs) != n || len(enc.AttentionMask) != n {
			t.Fatalf("Encode(%q): %d ids, %d types, %d mask", text, n, len(enc.TypeIDs), len(enc.AttentionMask))
		}
		if enc.IDs[0] != clsID || enc.IDs[n-1] != sepID {
			t.Fatalf("Encode(%q) = %v: not [CLS] ... [SEP]", text, enc.IDs)
		}
		if enc.TokenCount < n || enc.Truncated != (enc.TokenCount > maxSeqLen) {
			t.Fatalf("Encode(%q): TokenCount %d Truncated %v with %d ids", text, enc.TokenCount, enc.Truncated, n)
		}
		for _, id := range enc.IDs {
			if id < 0 || id >= vocabSize {
				t.Fatalf("Encode(%q): id %d outside the vocabulary", text, id)
			}
		}
		if isASCII(text) {
			var fast, general []string
			fromJSON.pipe.appendASCII(&scratch{onWord: func(w []byte) { fast = append(fast, string(w)) }}, text)
			fromJSON.pipe.appendUnicode(&scratch{onWord: func(w []byte) { general = append(general, string(w)) }}, text)
			if !slices.Equal(fast, general) {
				t.Fatalf("words of %q: ASCII path %q, general path %q", text, fast, general)
			}
		}
		other, err := fromVocab.Encode(text)
		if err != nil || !slices.Equal(other.IDs, enc.IDs) || other.TokenCount != enc.TokenCount {
			t.Fatalf("Encode(%q): tokenizer.json %v, vocab.txt %v (%v)", text, enc.IDs, other.IDs, err)
		}
	})
}
