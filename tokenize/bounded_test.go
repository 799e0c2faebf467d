package tokenize

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestBoundedGoldens holds EncodeBounded to the reference: the same ids as the goldens
// for every text, untruncated and at every golden truncation length.
func TestBoundedGoldens(t *testing.T) {
	full := sharedLoad(t, tokenizerJSONPath, Options{MaxSeqLen: noTruncation})
	tokenizers := map[string]*Tokenizer{}
	for _, path := range []string{goldenPath, unicodeGolden} {
		for i, g := range readGolden(t, path) {
			enc, err := full.EncodeBounded(g.Text)
			if err != nil {
				t.Fatal(err)
			}
			if g.IDs == nil {
				continue // a words-only golden
			}
			if !slices.Equal(enc.IDs, g.IDs) || enc.TokenCount != len(g.IDs) || enc.Truncated {
				t.Errorf("%s:%d %q: got %s (count %d), want %s", path, i+1, g.Text, describe(enc.IDs), enc.TokenCount, describe(g.IDs))
			}
			for maxLen, want := range g.Trunc {
				tok := tokenizers[maxLen]
				if tok == nil {
					n, err := strconv.Atoi(maxLen)
					if err != nil {
						t.Fatal(err)
					}
					tok = sharedLoad(t, tokenizerJSONPath, Options{MaxSeqLen: n})
					tokenizers[maxLen] = tok
				}
				enc, err := tok.EncodeBounded(g.Text)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(enc.IDs, want) || !enc.Truncated || enc.TokenCount <= tok.MaxSeqLen() || enc.TokenCount > len(g.IDs) {
					t.Errorf("%s:%d %q max %s: got %s (count %d, truncated %v), want %s",
						path, i+1, g.Text, maxLen, describe(enc.IDs), enc.TokenCount, enc.Truncated, describe(want))
				}
			}
		}
	}
}

// longTexts joins the golden texts into texts of 96 KiB, so that bounded calls cut
// them into many chunks, at boundaries inside words and between them.
func longTexts(t *testing.T) map[string]string {
	var texts []string
	for _, path := range []string{goldenPath, unicodeGolden} {
		for _, g := range readGolden(t, path) {
			texts = append(texts, g.Text)
		}
	}
	out := map[string]string{}
	for name, sep := range map[string]string{"spaces": " ", "newlines": "\n", "glued": "", "marks": "\u0301"} {
		s := strings.Join(texts, sep)
		n := min(len(s), 96<<10)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n++
		}
		out[name] = s[:n]
	}
	return out
}

// TestBoundedChunksMatch compares the chunked, bounded pipeline with the whole-text one
// on long texts, without truncation and at several lengths.
func TestBoundedChunksMatch(t *testing.T) {
	for name, text := range longTexts(t) {
		for _, maxLen := range []int{noTruncation, 512, 3} {
			tok := sharedLoad(t, tokenizerJSONPath, Options{MaxSeqLen: maxLen})
			want, err := tok.Encode(text)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tok.EncodeBounded(text)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.TypeIDs, want.TypeIDs) || got.Truncated != want.Truncated {
				i := 0
				for i < min(len(got.IDs), len(want.IDs)) && got.IDs[i] == want.IDs[i] {
					i++
				}
				t.Fatalf("%s (%d bytes) max %d: bounded differs at id %d of %d/%d", name, len(text), maxLen, i, len(got.IDs), len(want.IDs))
			}
			if !want.Truncated && got.TokenCount != want.TokenCount {
				t.Fatalf("%s max %d: count %d, want %d", name, maxLen, got.TokenCount, want.TokenCount)
			}
			batch, err := tok.EncodeBatchBounded([]string{text, "milk", text})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(batch[2].IDs, want.IDs) || len(batch[1].IDs) != 3 {
				t.Fatalf("%s max %d: batch differs", name, maxLen)
			}
		}
	}
}

// TestBoundedHugeText: a 32 MiB text, of words, of one giant word, of accented words
// (the Unicode path) and of CJK without spaces, is tokenized with a few KiB of
// allocation, where the whole-text pipeline allocates hundreds of MiB.
func TestBoundedHugeText(t *testing.T) {
	tok := sharedLoad(t, tokenizerJSONPath, Options{MaxSeqLen: 32})
	const size = 32 << 20
	units := map[string]string{
		"words":       "organic milk ",
		"one word":    "a",
		"accented":    "Äpfel über Crème ",
		"cjk":         "牛奶面包",
		"added token": "milk [SEP] ",
	}
	for name, unit := range units {
		t.Run(name, func(t *testing.T) {
			text := strings.Repeat(unit, size/len(unit))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			enc, err := tok.EncodeBounded(text)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes for a %d-byte text", alloc, len(text))
			}
			// The same ids as the whole pipeline on a start of the text that is
			// still truncated (or, for one word, still longer than a word may be).
			want, err := tok.Encode(strings.Repeat(unit, 1000))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(enc.IDs, want.IDs) || enc.Truncated != want.Truncated {
				t.Fatalf("ids %v truncated %v, want %v %v", enc.IDs, enc.Truncated, want.IDs, want.Truncated)
			}
		})
	}
}
