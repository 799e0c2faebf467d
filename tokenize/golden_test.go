package tokenize

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The goldens were written by scripts/tokenizer/golden.js with Hugging Face tokenizers
// (npm tokenizers@0.23.2) from testdata/tokenizer.json, itself built around
// testdata/vocab.txt by scripts/tokenizer/build_tokenizer_json.js.
const (
	tokenizerJSONPath = "testdata/tokenizer.json"
	vocabPath         = "testdata/vocab.txt"
	goldenPath        = "testdata/golden.jsonl"
	unicodeGolden     = "testdata/unicode_golden.jsonl"
	instacartGolden   = "testdata/instacart_golden.jsonl" // git-ignored, see golden.js
	instacartProducts = "../../shared/data/instacart/products.csv"
)

// golden is one line of a golden file.
type golden struct {
	Text          string             `json:"text"`
	IDs           []int64            `json:"ids"`
	TypeIDs       []int64            `json:"type_ids"`
	AttentionMask []int64            `json:"attention_mask"`
	Words         *string            `json:"words"`
	Trunc         map[string][]int64 `json:"trunc"`
}

func readGolden(tb testing.TB, path string) []golden {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []golden
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var g golden
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			tb.Fatalf("%s:%d: %v", path, len(out)+1, err)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// noTruncation is a MaxSeqLen above every golden text's length.
const noTruncation = 1 << 20

// loaders are the two ways to get the reference's tokenizer.
var loaders = []struct {
	name string
	path string
}{
	{"tokenizer.json", tokenizerJSONPath},
	{"vocab.txt", vocabPath},
}

func mustLoad(tb testing.TB, path string, opts Options) *Tokenizer {
	tb.Helper()
	tok, err := Load(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// shared caches tokenizers by path and options: a Tokenizer is safe for concurrent use,
// and loading one takes tens of milliseconds.
var shared sync.Map // of loadKey -> *Tokenizer

type loadKey struct {
	path string
	opts Options
}

func sharedLoad(tb testing.TB, path string, opts Options) *Tokenizer {
	tb.Helper()
	if tok, ok := shared.Load(loadKey{path, opts}); ok {
		return tok.(*Tokenizer)
	}
	tok := mustLoad(tb, path, opts)
	shared.Store(loadKey{path, opts}, tok)
	return tok
}

// describe shows ids with their tokens, for failure messages.
func describe(ids []int64) string {
	vocab := goldenVocab()
	parts := make([]string, len(ids))
	for i, id := range ids {
		tok := "?"
		if id >= 0 && int(id) < len(vocab) {
			tok = vocab[id]
		}
		parts[i] = strconv.FormatInt(id, 10) + ":" + tok
	}
	return strings.Join(parts, " ")
}

var goldenVocabLines []string

func goldenVocab() []string {
	if goldenVocabLines == nil {
		data, err := os.ReadFile(vocabPath)
		if err == nil {
			goldenVocabLines = strings.Split(string(data), "\n")
		}
	}
	return goldenVocabLines
}

func TestGolden(t *testing.T) {
	cases := readGolden(t, goldenPath)
	if len(cases) < 2000 {
		t.Fatalf("%s has %d texts, want at least 2000", goldenPath, len(cases))
	}
	for _, l := range loaders {
		t.Run(l.name, func(t *testing.T) {
			tok := sharedLoad(t, l.path, Options{MaxSeqLen: noTruncation})
			failed := 0
			for i, g := range cases {
				enc, err := tok.Encode(g.Text)
				if err != nil {
					t.Fatalf("line %d %q: %v", i+1, g.Text, err)
				}
				ok := slices.Equal(enc.IDs, g.IDs) && slices.Equal(enc.TypeIDs, g.TypeIDs) &&
					slices.Equal(enc.AttentionMask, g.AttentionMask) && enc.TokenCount == len(g.IDs) && !enc.Truncated
				if !ok {
					failed++
					if failed <= 10 {
						t.Errorf("line %d %q:\n got  %s (types %v, mask %v, count %d, truncated %v)\n want %s",
							i+1, g.Text, describe(enc.IDs), enc.TypeIDs, enc.AttentionMask, enc.TokenCount,
							enc.Truncated, describe(g.IDs))
					}
				}
			}
			if failed > 0 {
				t.Errorf("%d of %d golden texts differ", failed, len(cases))
			}
		})
	}
}

// TestGoldenTruncation checks truncation against the reference's own: right side, longest
// first, with room kept for [CLS] and [SEP].
func TestGoldenTruncation(t *testing.T) {
	cases := readGolden(t, goldenPath)
	tokenizers := map[string]*Tokenizer{}
	checked := 0
	for i, g := range cases {
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
			enc, err := tok.Encode(g.Text)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(enc.IDs, want) || enc.TokenCount != len(g.IDs) || !enc.Truncated {
				t.Errorf("line %d %q max %s:\n got  %s (count %d, truncated %v)\n want %s (count %d)",
					i+1, g.Text, maxLen, describe(enc.IDs), enc.TokenCount, enc.Truncated, describe(want), len(g.IDs))
			}
			checked++
		}
	}
	if checked < 1000 {
		t.Errorf("checked %d truncations, want at least 1000", checked)
	}
}

// TestGoldenWords checks the normalizer and pre-tokenizer alone against the reference's
// words, for the golden texts and for a sweep over the code points.
func TestGoldenWords(t *testing.T) {
	tok := sharedLoad(t, tokenizerJSONPath, Options{})
	for _, path := range []string{goldenPath, unicodeGolden} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cases := readGolden(t, path)
			failed := 0
			for i, g := range cases {
				if g.Words == nil {
					t.Fatalf("line %d has no words", i+1)
				}
				got := strings.Join(tok.words(g.Text), " ")
				if got != *g.Words {
					failed++
					if failed <= 10 {
						t.Errorf("line %d %+q:\n got  %+q\n want %+q", i+1, g.Text, got, *g.Words)
					}
				}
			}
			if failed > 0 {
				t.Errorf("%d of %d texts differ", failed, len(cases))
			}
		})
	}
}

// words returns the normalized, pre-tokenized words of text, without added-token matching.
func (t *Tokenizer) words(text string) []string {
	var out []string
	s := &scratch{onWord: func(w []byte) { out = append(out, string(w)) }}
	t.pipe.appendSegment(s, text)
	return out
}

// TestInstacartGolden checks the Instacart product names, which may not be committed (see
// ../shared/data/instacart/PROVENANCE.md): golden.js writes their reference ids to a
// git-ignored file when the shared data is present.
func TestInstacartGolden(t *testing.T) {
	if _, err := os.Stat(instacartGolden); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not found: run scripts/tokenizer/golden.js with ../shared/data/instacart present", instacartGolden)
	}
	if testing.Short() {
		t.Skip("-short")
	}
	cases := readGolden(t, instacartGolden)
	for _, l := range loaders {
		t.Run(l.name, func(t *testing.T) {
			tok := sharedLoad(t, l.path, Options{MaxSeqLen: noTruncation})
			failed := 0
			for i, g := range cases {
				enc, err := tok.Encode(g.Text)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(enc.IDs, g.IDs) {
					failed++
					if failed <= 10 {
						t.Errorf("line %d %q:\n got  %s\n want %s", i+1, g.Text, describe(enc.IDs), describe(g.IDs))
					}
				}
			}
			if failed > 0 {
				t.Errorf("%d of %d product names differ", failed, len(cases))
			}
		})
	}
}

// TestInstacartProducts runs the Instacart product names through both loaders when the
// shared data is there, without reference ids (TestInstacartGolden has those): no errors,
// and the tokenizer.json and vocab.txt tokenizers agree.
func TestInstacartProducts(t *testing.T) {
	f, err := os.Open(instacartProducts)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not found", instacartProducts)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "product_name")
	if col < 0 {
		t.Fatalf("%s has no product_name column", instacartProducts)
	}
	names := make([]string, 0, len(rows)-1)
	for _, row := range rows[1:] {
		names = append(names, row[col])
	}
	fromJSON, err := sharedLoad(t, tokenizerJSONPath, Options{}).EncodeBatch(names)
	if err != nil {
		t.Fatal(err)
	}
	fromVocab, err := sharedLoad(t, vocabPath, Options{}).EncodeBatch(names)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		if !slices.Equal(fromJSON[i].IDs, fromVocab[i].IDs) {
			t.Errorf("%q: tokenizer.json %v, vocab.txt %v", name, fromJSON[i].IDs, fromVocab[i].IDs)
		}
	}
}
