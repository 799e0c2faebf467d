package tokenize

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const (
	clsID = 101
	sepID = 102
)

func TestTruncation(t *testing.T) {
	long := strings.Repeat("whole milk, ", 300) // 900 tokens
	tests := []struct {
		name      string
		maxSeqLen int
		text      string
		wantLen   int
		wantCount int
		truncated bool
	}{
		{"empty", 8, "", 2, 2, false},
		{"fits", 8, "whole milk", 4, 4, false},
		{"exactly", 4, "whole milk", 4, 4, false},
		{"one over", 3, "whole milk", 3, 4, true},
		{"only specials", 2, "whole milk", 2, 4, true},
		{"specials fit empty", 2, "", 2, 2, false},
		{"long default", 0, long, 512, 902, true},
		{"long 128", 128, long, 128, 902, true},
		{"long untruncated", 1000, long, 902, 902, false},
		{"added tokens count", 4, "[SEP][SEP][SEP]", 4, 5, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, l := range loaders {
				tok := sharedLoad(t, l.path, Options{MaxSeqLen: tc.maxSeqLen})
				full := sharedLoad(t, l.path, Options{MaxSeqLen: noTruncation})
				enc, err := tok.Encode(tc.text)
				if err != nil {
					t.Fatal(err)
				}
				want, err := full.Encode(tc.text)
				if err != nil {
					t.Fatal(err)
				}
				n := len(enc.IDs)
				switch {
				case n != tc.wantLen || len(enc.TypeIDs) != n || len(enc.AttentionMask) != n:
					t.Errorf("%s: lengths ids %d types %d mask %d, want %d", l.name, n, len(enc.TypeIDs),
						len(enc.AttentionMask), tc.wantLen)
				case enc.TokenCount != tc.wantCount || enc.Truncated != tc.truncated:
					t.Errorf("%s: TokenCount %d Truncated %v, want %d %v", l.name, enc.TokenCount, enc.Truncated,
						tc.wantCount, tc.truncated)
				case enc.IDs[0] != clsID || enc.IDs[n-1] != sepID:
					t.Errorf("%s: ids %v do not run [CLS] ... [SEP]", l.name, enc.IDs)
				case !slices.Equal(enc.IDs[:n-1], want.IDs[:n-1]):
					t.Errorf("%s: ids %v are not a prefix of %v", l.name, enc.IDs, want.IDs)
				case slices.ContainsFunc(enc.AttentionMask, func(m int64) bool { return m != 1 }),
					slices.ContainsFunc(enc.TypeIDs, func(m int64) bool { return m != 0 }):
					t.Errorf("%s: mask %v types %v", l.name, enc.AttentionMask, enc.TypeIDs)
				}
			}
		})
	}
}

func TestInvalidUTF8(t *testing.T) {
	tok := sharedLoad(t, tokenizerJSONPath, Options{})
	bad := []string{"\xff", "milk \xc3", "caf\xe9", "\xed\xa0\x80 surrogate", "\xf4\x90\x80\x80 above U+10FFFF", "\xc0\xaf overlong"}
	for _, text := range bad {
		t.Run(fmt.Sprintf("%q", text), func(t *testing.T) {
			if _, err := tok.Encode(text); !errors.Is(err, ErrInvalidUTF8) {
				t.Errorf("Encode error %v, want ErrInvalidUTF8", err)
			}
			_, err := tok.EncodeBatch([]string{"milk", "bread", text})
			if !errors.Is(err, ErrInvalidUTF8) || !strings.Contains(err.Error(), "text 2") {
				t.Errorf("EncodeBatch error %v, want ErrInvalidUTF8 naming text 2", err)
			}
		})
	}
}

func TestEncodeBatch(t *testing.T) {
	tok := sharedLoad(t, tokenizerJSONPath, Options{MaxSeqLen: 16})
	texts := benchTexts(t)[:500]
	got, err := tok.EncodeBatch(texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("%d encodings for %d texts", len(got), len(texts))
	}
	for i, text := range texts {
		want, err := tok.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[i].IDs, want.IDs) || got[i].TokenCount != want.TokenCount {
			t.Errorf("text %d %q: batch %v, single %v", i, text, got[i].IDs, want.IDs)
		}
	}
	if out, err := tok.EncodeBatch(nil); err != nil || len(out) != 0 {
		t.Errorf("EncodeBatch(nil) = %v, %v", out, err)
	}
}

// TestConcurrent shares one Tokenizer between goroutines; run it with -race.
func TestConcurrent(t *testing.T) {
	tok := sharedLoad(t, tokenizerJSONPath, Options{MaxSeqLen: noTruncation})
	cases := readGolden(t, goldenPath)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range cases {
				c := cases[(i+g*311)%len(cases)]
				var got []int64
				if g%2 == 0 {
					enc, err := tok.Encode(c.Text)
					if err != nil {
						errs <- err
						return
					}
					got = enc.IDs
				} else {
					encs, err := tok.EncodeBatch([]string{c.Text, "milk"})
					if err != nil {
						errs <- err
						return
					}
					got = encs[0].IDs
				}
				if !slices.Equal(got, c.IDs) {
					errs <- fmt.Errorf("goroutine %d %q: got %v, want %v", g, c.Text, got, c.IDs)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(m map[string]any)
		opts      Options
		wantMax   int
		wantPadID int64
	}{
		{"tokenizer.json", func(map[string]any) {}, Options{}, 512, 0},
		{"options win", func(map[string]any) {}, Options{MaxSeqLen: 64}, 64, 0},
		{"file truncation", func(m map[string]any) {
			m["truncation"] = map[string]any{"direction": "Right", "max_length": 128, "strategy": "LongestFirst", "stride": 0}
		}, Options{}, 128, 0},
		{"options over file", func(m map[string]any) {
			m["truncation"] = map[string]any{"max_length": 128}
		}, Options{MaxSeqLen: 32}, 32, 0},
		{"file padding", func(m map[string]any) {
			m["padding"] = map[string]any{"pad_id": 7, "pad_token": "[unused6]"}
		}, Options{}, 512, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustLoad(t, editedJSON(t, tinyVocab, tc.edit), tc.opts)
			if tok.MaxSeqLen() != tc.wantMax || tok.PadID() != tc.wantPadID {
				t.Errorf("MaxSeqLen %d PadID %d, want %d %d", tok.MaxSeqLen(), tok.PadID(), tc.wantMax, tc.wantPadID)
			}
		})
	}
	tok := mustLoad(t, vocabPath, Options{})
	if tok.MaxSeqLen() != 512 || tok.PadID() != 0 {
		t.Errorf("vocab.txt: MaxSeqLen %d PadID %d, want 512 0", tok.MaxSeqLen(), tok.PadID())
	}
}

// tinyVocab replaces the 30,522-token vocabulary in editedJSON where a test does not need
// it: loading the full tokenizer.json is slow under -race.
var tinyVocab = json.RawMessage(`{"[PAD]":0,"[UNK]":100,"[CLS]":101,"[SEP]":102,"[MASK]":103,"milk":104}`)

var (
	baseJSONOnce sync.Once
	baseJSON     map[string]json.RawMessage // testdata/tokenizer.json, one level decoded
	baseJSONErr  error
)

// editedJSON writes testdata/tokenizer.json, with vocab as the model vocabulary unless it
// is nil and changed by edit, to a temporary file. edit sees the file decoded into maps,
// except the vocabulary.
func editedJSON(t *testing.T, vocab json.RawMessage, edit func(m map[string]any)) string {
	t.Helper()
	if vocab == nil && edit == nil {
		return tokenizerJSONPath
	}
	baseJSONOnce.Do(func() {
		var data []byte
		if data, baseJSONErr = os.ReadFile(tokenizerJSONPath); baseJSONErr == nil {
			baseJSONErr = json.Unmarshal(data, &baseJSON)
		}
	})
	if baseJSONErr != nil {
		t.Fatal(baseJSONErr)
	}
	m := map[string]any{}
	for k, raw := range baseJSON {
		var v any
		if k == "model" {
			var model map[string]json.RawMessage
			if err := json.Unmarshal(raw, &model); err != nil {
				t.Fatal(err)
			}
			fields := map[string]any{}
			for mk, mraw := range model {
				if mk == "vocab" {
					fields[mk] = mraw
					if vocab != nil {
						fields[mk] = vocab
					}
					continue
				}
				var mv any
				if err := json.Unmarshal(mraw, &mv); err != nil {
					t.Fatal(err)
				}
				fields[mk] = mv
			}
			v = fields
		} else if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		m[k] = v
	}
	if edit != nil {
		edit(m)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEquivalentConfigs loads tokenizer.json variants that the reference treats the same
// and checks they give the golden ids.
func TestEquivalentConfigs(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]any)
	}{
		{"BertProcessing", func(m map[string]any) {
			m["post_processor"] = map[string]any{"type": "BertProcessing", "sep": []any{"[SEP]", 102}, "cls": []any{"[CLS]", 101}}
		}},
		{"strip_accents null", func(m map[string]any) {
			m["normalizer"].(map[string]any)["strip_accents"] = nil
		}},
		{"normalizer defaults", func(m map[string]any) {
			m["normalizer"] = map[string]any{"type": "BertNormalizer"}
		}},
		{"model defaults", func(m map[string]any) {
			model := m["model"].(map[string]any)
			delete(model, "unk_token")
			delete(model, "continuing_subword_prefix")
			delete(model, "max_input_chars_per_word")
		}},
	}
	cases := readGolden(t, goldenPath)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustLoad(t, editedJSON(t, nil, tc.edit), Options{MaxSeqLen: noTruncation})
			for _, g := range cases {
				enc, err := tok.Encode(g.Text)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(enc.IDs, g.IDs) {
					t.Fatalf("%q: got %v, want %v", g.Text, enc.IDs, g.IDs)
				}
			}
		})
	}
}

// TestCasedNormalizer checks the normalizer options one by one on texts whose outcome
// follows from the reference's rules.
func TestCasedNormalizer(t *testing.T) {
	tests := []struct {
		name string
		norm map[string]any
		text string
		want string
	}{
		{"no lowercase", map[string]any{"lowercase": false, "strip_accents": false}, "Café MILK", "Café MILK"},
		{"strip without lowercase", map[string]any{"lowercase": false, "strip_accents": true}, "Café", "Cafe"},
		{"lowercase without strip", map[string]any{"lowercase": true, "strip_accents": false}, "CAFÉ İ", "café i\u0307"},
		{"no clean_text", map[string]any{"clean_text": false}, "a\u0000b\u200bc", "a\u0000b\u200bc"},
		{"clean_text", map[string]any{"clean_text": true}, "a\u0000b\u200bc\u00a0d", "abc d"},
		{"no chinese chars", map[string]any{"handle_chinese_chars": false}, "牛奶x", "牛奶x"},
		{"chinese chars", map[string]any{"handle_chinese_chars": true}, "牛奶x", "牛 奶 x"},
		{"no normalizer", nil, "CAFÉ, 牛奶", "CAFÉ , 牛奶"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := editedJSON(t, tinyVocab, func(m map[string]any) {
				if tc.norm == nil {
					m["normalizer"] = nil
					return
				}
				n := map[string]any{"type": "BertNormalizer"}
				for k, v := range tc.norm {
					n[k] = v
				}
				m["normalizer"] = n
			})
			tok := mustLoad(t, path, Options{})
			if got := strings.Join(tok.words(tc.text), " "); got != tc.want {
				t.Errorf("words %+q, want %+q", got, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name        string
		path        string
		opts        Options
		unsupported bool
	}{
		{"missing file", filepath.Join(dir, "nope.json"), Options{}, false},
		{"bad json", write("bad.json", `{"model": `), Options{}, false},
		{"negative MaxSeqLen", editedJSON(t, tinyVocab, nil), Options{MaxSeqLen: -1}, false},
		{"MaxSeqLen below specials", editedJSON(t, tinyVocab, nil), Options{MaxSeqLen: 1}, false},
		{"unk not in vocab", editedJSON(t, json.RawMessage(`{"milk":0}`), nil), Options{}, false},
		{"vocab without [CLS]", write("nocls.txt", "[PAD]\n[UNK]\n[SEP]\nmilk\n"), Options{}, false},
		{"vocab without [UNK]", write("nounk.txt", "[PAD]\n[CLS]\n[SEP]\nmilk\n"), Options{}, false},
		{"vocab not UTF-8", write("latin1.txt", "[UNK]\n[CLS]\n[SEP]\ncaf\xe9\n"), Options{}, false},
		{"BPE model", editedJSON(t, tinyVocab, func(m map[string]any) { m["model"].(map[string]any)["type"] = "BPE" }), Options{}, true},
		{"Lowercase normalizer", editedJSON(t, tinyVocab, func(m map[string]any) {
			m["normalizer"] = map[string]any{"type": "Lowercase"}
		}), Options{}, true},
		{"Whitespace pre-tokenizer", editedJSON(t, tinyVocab, func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Whitespace"}
		}), Options{}, true},
		{"no pre-tokenizer", editedJSON(t, tinyVocab, func(m map[string]any) { m["pre_tokenizer"] = nil }), Options{}, true},
		{"Roberta post-processor", editedJSON(t, tinyVocab, func(m map[string]any) {
			m["post_processor"] = map[string]any{"type": "RobertaProcessing"}
		}), Options{}, true},
		{"lstrip added token", editedJSON(t, tinyVocab, func(m map[string]any) {
			m["added_tokens"].([]any)[4].(map[string]any)["lstrip"] = true
		}), Options{}, true},
		{"left truncation", editedJSON(t, tinyVocab, func(m map[string]any) {
			m["truncation"] = map[string]any{"direction": "Left", "max_length": 64}
		}), Options{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Load(tc.path, tc.opts)
			if err == nil {
				t.Fatalf("Load = %v, want an error", tok)
			}
			if got := errors.Is(err, ErrUnsupported); got != tc.unsupported {
				t.Errorf("error %v: errors.Is(ErrUnsupported) = %v, want %v", err, got, tc.unsupported)
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name %s", err, tc.path)
			}
		})
	}
}

// TestVocabTxtLines checks vocab.txt parsing rules shared with the reference's
// WordPiece::read_file: trailing whitespace trimmed, CRLF accepted, later duplicates win.
func TestVocabTxtLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vocab.txt")
	vocab := "[PAD]\r\n[UNK]\n[CLS]\n[SEP]\nmilk \nbread\t\n##s\nmilk\n"
	if err := os.WriteFile(path, []byte(vocab), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := mustLoad(t, path, Options{})
	enc, err := tok.Encode("Milk breads [SEP] oat")
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{2, 7, 5, 6, 3, 1, 3}
	if !slices.Equal(enc.IDs, want) {
		t.Errorf("ids %v, want %v", enc.IDs, want)
	}
}

// TestVocabSize checks that VocabSize bounds every id, from both file
// formats: vocab.txt has one token a line, so its size is its line count.
func TestVocabSize(t *testing.T) {
	data, err := os.ReadFile(vocabPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := int64(strings.Count(string(data), "\n"))
	for _, path := range []string{vocabPath, tokenizerJSONPath} {
		tok := sharedLoad(t, path, Options{})
		if got := tok.VocabSize(); got != lines {
			t.Errorf("%s: VocabSize = %d, want %d", path, got, lines)
		}
	}
}
