package tokenize

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// bertSpecials are the special tokens of a BERT vocab.txt, added as the Hugging Face
// BertWordPieceTokenizer adds them (matched verbatim in the input) when present.
var bertSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// spec is a tokenizer configuration read from a file, before validation.
type spec struct {
	vocab     map[string]int32
	unkToken  string
	subword   string // continuing_subword_prefix
	maxChars  int    // max_input_chars_per_word
	norm      normalizer
	added     []addedToken
	prefix    []specialToken // post-processor tokens before the text
	suffix    []specialToken // and after it
	seqTypeID int64
	maxSeqLen int    // truncation max_length, 0 if none
	padID     *int64 // padding pad_id, nil if none
}

// Load reads a tokenizer from path: a Hugging Face tokenizer.json, or a BERT vocab.txt (one
// token a line, line number = id), which gets the pipeline of bert-base-uncased: the
// BertNormalizer with lowercase, accent stripping, text cleaning and CJK spacing, the
// BertPreTokenizer, WordPiece with [UNK] and at most 100 characters a word, [CLS] $A [SEP].
// A file is read as tokenizer.json when its first non-blank byte is '{'.
func Load(path string, opts Options) (*Tokenizer, error) {
	t, err := load(path, opts)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	}
	return t, nil
}

func load(path string, opts Options) (*Tokenizer, error) {
	if opts.MaxSeqLen < 0 {
		return nil, fmt.Errorf("negative MaxSeqLen %d", opts.MaxSeqLen)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sp *spec
	if trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(trimmed) > 0 && trimmed[0] == '{' {
		sp, err = parseTokenizerJSON(data)
	} else {
		sp, err = parseVocabTxt(data)
	}
	if err != nil {
		return nil, err
	}
	return build(sp, opts)
}

// parseVocabTxt reads a vocab.txt as the reference's WordPiece::read_file does: each line
// with trailing whitespace trimmed is a token whose id is its line number; a later
// duplicate wins.
func parseVocabTxt(data []byte) (*spec, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("vocab.txt is not valid UTF-8")
	}
	text := strings.TrimSuffix(string(data), "\n")
	lines := strings.Split(text, "\n")
	vocab := make(map[string]int32, len(lines))
	for i, line := range lines {
		vocab[strings.TrimRightFunc(line, isWhiteSpace)] = int32(i)
	}
	sp := &spec{
		vocab:    vocab,
		unkToken: defaultUnkToken,
		subword:  defaultSubwordPrefix,
		maxChars: defaultMaxWordChars,
		norm:     bertUncased,
	}
	for _, tok := range bertSpecials {
		if id, ok := vocab[tok]; ok {
			sp.added = append(sp.added, addedToken{content: tok, id: int64(id)})
		}
	}
	cls, okCLS := vocab["[CLS]"]
	sep, okSEP := vocab["[SEP]"]
	if !okCLS || !okSEP {
		return nil, errors.New("vocab.txt has no [CLS] or no [SEP]")
	}
	sp.prefix = []specialToken{{id: int64(cls)}}
	sp.suffix = []specialToken{{id: int64(sep)}}
	return sp, nil
}

// build validates sp and makes the Tokenizer.
func build(sp *spec, opts Options) (*Tokenizer, error) {
	wp, err := newWordPiece(sp.vocab, sp.unkToken, sp.subword, sp.maxChars)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{
		pipe:      newPipeline(sp.norm, wp),
		added:     newAddedVocab(sp.added),
		prefix:    sp.prefix,
		suffix:    sp.suffix,
		seqTypeID: sp.seqTypeID,
		maxSeqLen: opts.MaxSeqLen,
	}
	for _, id := range sp.vocab {
		t.vocabSize = max(t.vocabSize, int64(id)+1)
	}
	for _, a := range sp.added {
		t.vocabSize = max(t.vocabSize, a.id+1)
	}
	for _, s := range append(append([]specialToken(nil), sp.prefix...), sp.suffix...) {
		t.vocabSize = max(t.vocabSize, s.id+1)
	}
	if t.maxSeqLen == 0 {
		t.maxSeqLen = sp.maxSeqLen
	}
	if t.maxSeqLen == 0 {
		t.maxSeqLen = DefaultMaxSeqLen
	}
	if specials := len(t.prefix) + len(t.suffix); t.maxSeqLen < specials {
		return nil, fmt.Errorf("MaxSeqLen %d is less than the %d special tokens", t.maxSeqLen, specials)
	}
	switch id, ok := sp.vocab["[PAD]"]; {
	case sp.padID != nil:
		t.padID = *sp.padID
	case ok:
		t.padID = int64(id)
	}
	return t, nil
}
