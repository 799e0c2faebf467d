package tokenize

import (
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"
)

// DefaultMaxSeqLen is the sequence length limit when neither Options nor the
// tokenizer.json sets one: BERT's 512 positions.
const DefaultMaxSeqLen = 512

var (
	// ErrInvalidUTF8 is returned (wrapped) by Encode and EncodeBatch for text that is not
	// valid UTF-8.
	ErrInvalidUTF8 = errors.New("text is not valid UTF-8")

	// ErrUnsupported is returned (wrapped) by Load for a tokenizer.json that uses a
	// component or option this package does not implement.
	ErrUnsupported = errors.New("unsupported tokenizer configuration")
)

// Options configure a Tokenizer.
type Options struct {
	// MaxSeqLen is the most token ids an Encoding holds, [CLS] and [SEP] included; longer
	// texts are truncated. 0 means the tokenizer.json truncation max_length, or
	// DefaultMaxSeqLen when it has none.
	MaxSeqLen int
}

// Encoding is the model input for one text.
type Encoding struct {
	// IDs are the token ids: [CLS], the text's WordPiece ids, [SEP].
	IDs []int64
	// AttentionMask is 1 for every id (an Encoding is never padded).
	AttentionMask []int64
	// TypeIDs are the token type (segment) ids, 0 for a single text.
	TypeIDs []int64
	// TokenCount is the number of ids before truncation, special tokens included. The
	// bounded calls (EncodeBounded, EncodeBatchBounded) stop counting where they stop
	// tokenizing, so for a truncated text it is a lower bound, at least MaxSeqLen+1.
	TokenCount int
	// Truncated reports whether TokenCount exceeded the tokenizer's MaxSeqLen.
	Truncated bool
}

// specialToken is a token the post-processor adds around the text.
type specialToken struct {
	id     int64
	typeID int64
}

// Tokenizer encodes text to BERT WordPiece ids equal to those of Hugging Face's
// tokenizers library. It is immutable after Load and safe for concurrent use.
type Tokenizer struct {
	pipe      *pipeline
	added     *addedVocab
	prefix    []specialToken // before the text ([CLS])
	suffix    []specialToken // after the text ([SEP])
	seqTypeID int64          // type id of the text's own tokens
	maxSeqLen int
	padID     int64
	vocabSize int64     // largest id any token maps to, plus one
	scratch   sync.Pool // of *scratch
}

// MaxSeqLen returns the most ids an Encoding holds, special tokens included.
func (t *Tokenizer) MaxSeqLen() int { return t.maxSeqLen }

// VocabSize returns one more than the largest id the tokenizer can emit:
// every id it produces lies in [0, VocabSize()). A model's token-id inputs
// are checked against it, since an id past the embedding table fails the
// runtime.
func (t *Tokenizer) VocabSize() int64 { return t.vocabSize }

// PadID returns the id to pad batches with: the tokenizer.json padding pad_id, else the
// id of [PAD], else 0.
func (t *Tokenizer) PadID() int64 { return t.padID }

// Encode tokenizes one text, truncating it to MaxSeqLen ids. It returns an error wrapping
// ErrInvalidUTF8 when text is not valid UTF-8.
func (t *Tokenizer) Encode(text string) (Encoding, error) { return t.encodeOne(text, 0) }

// EncodeBatch encodes each text as Encode does. On invalid UTF-8 it returns an error
// naming the index of the first bad text and wrapping ErrInvalidUTF8.
func (t *Tokenizer) EncodeBatch(texts []string) ([]Encoding, error) { return t.encodeMany(texts, 0) }

// EncodeBounded is Encode for untrusted, possibly huge, text: it stops tokenizing once the
// text has given one id more than fits in MaxSeqLen, so its cost and memory follow the
// ids kept rather than the text's length (a 60 MiB text costs what its first words
// cost). IDs, TypeIDs, AttentionMask and Truncated equal Encode's; TokenCount of a
// truncated text counts only up to where tokenizing stopped.
func (t *Tokenizer) EncodeBounded(text string) (Encoding, error) {
	return t.encodeOne(text, t.textLimit())
}

// EncodeBatchBounded encodes each text as EncodeBounded does, with EncodeBatch's errors.
func (t *Tokenizer) EncodeBatchBounded(texts []string) ([]Encoding, error) {
	return t.encodeMany(texts, t.textLimit())
}

// encodeOne is Encode (limit 0) and EncodeBounded (limit textLimit).
func (t *Tokenizer) encodeOne(text string, limit int) (Encoding, error) {
	if !utf8.ValidString(text) {
		return Encoding{}, fmt.Errorf("encode: %w", ErrInvalidUTF8)
	}
	s := t.getScratch()
	s.ids, s.limit = s.ids[:0], limit
	t.appendText(s, text)
	enc := t.encoding(s.ids)
	s.limit = 0
	t.putScratch(s)
	return enc, nil
}

// encodeMany is EncodeBatch (limit 0) and EncodeBatchBounded (limit textLimit): every
// text is checked before any is tokenized, so an error leaves no partial work.
func (t *Tokenizer) encodeMany(texts []string, limit int) ([]Encoding, error) {
	for i, text := range texts {
		if !utf8.ValidString(text) {
			return nil, fmt.Errorf("encode text %d: %w", i, ErrInvalidUTF8)
		}
	}
	s := t.getScratch()
	s.limit = limit
	out := make([]Encoding, len(texts))
	for i, text := range texts {
		s.ids = s.ids[:0]
		t.appendText(s, text)
		out[i] = t.encoding(s.ids)
	}
	s.limit = 0
	t.putScratch(s)
	return out, nil
}

// textLimit is how many of the text's own ids a bounded call produces: those that fit
// beside the special tokens, and one more to know the text was truncated.
func (t *Tokenizer) textLimit() int {
	return max(t.maxSeqLen-len(t.prefix)-len(t.suffix), 0) + 1
}

// maxPooledBytes bounds the buffers kept for reuse, so that one huge text does not pin
// its buffers in the pool.
const maxPooledBytes = 1 << 16

func (t *Tokenizer) getScratch() *scratch {
	if s, ok := t.scratch.Get().(*scratch); ok {
		return s
	}
	return new(scratch)
}

func (t *Tokenizer) putScratch(s *scratch) {
	if 8*cap(s.ids) > maxPooledBytes || cap(s.norm) > maxPooledBytes || cap(s.nfd) > maxPooledBytes ||
		cap(s.word) > maxPooledBytes {
		return
	}
	t.scratch.Put(s)
}

// appendText appends the ids of text, without special tokens, to s.ids: added tokens
// (such as a literal "[SEP]") are matched first, and the spans between them go through
// the pipeline.
func (t *Tokenizer) appendText(s *scratch, text string) {
	if t.added == nil {
		t.pipe.appendSegment(s, text)
		return
	}
	for len(text) > 0 && !s.full() {
		start, end, id := t.added.find(text)
		if start < 0 {
			t.pipe.appendSegment(s, text)
			return
		}
		if start > 0 {
			t.pipe.appendSegment(s, text[:start])
			if s.full() {
				return
			}
		}
		s.ids = append(s.ids, id)
		text = text[end:]
	}
}

// encoding wraps ids in the special tokens, truncating the text's ids so the whole fits
// in maxSeqLen, and copies them into a new Encoding.
func (t *Tokenizer) encoding(ids []int64) Encoding {
	specials := len(t.prefix) + len(t.suffix)
	total := len(ids) + specials
	n := total
	if n > t.maxSeqLen {
		n = t.maxSeqLen
		ids = ids[:n-specials]
	}
	buf := make([]int64, 3*n)
	enc := Encoding{
		IDs:           buf[:n:n],
		TypeIDs:       buf[n : 2*n : 2*n],
		AttentionMask: buf[2*n:],
		TokenCount:    total,
		Truncated:     total > t.maxSeqLen,
	}
	i := 0
	for _, sp := range t.prefix {
		enc.IDs[i], enc.TypeIDs[i] = sp.id, sp.typeID
		i++
	}
	copy(enc.IDs[i:], ids)
	if t.seqTypeID != 0 {
		for j := range ids {
			enc.TypeIDs[i+j] = t.seqTypeID
		}
	}
	i += len(ids)
	for _, sp := range t.suffix {
		enc.IDs[i], enc.TypeIDs[i] = sp.id, sp.typeID
		i++
	}
	for j := range enc.AttentionMask {
		enc.AttentionMask[j] = 1
	}
	return enc
}
