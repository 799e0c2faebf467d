package tokenize

// basic is bert-base-uncased's normalizer and pre-tokenizer without a
// vocabulary: scratch.onWord receives the words instead of WordPiece.
var basic = newPipeline(bertUncased, nil)

// BasicWords returns the words bert-base-uncased's BertNormalizer and
// BertPreTokenizer make of text, before WordPiece: control characters
// dropped, accents stripped (NFD, marks removed), lowercased, split on
// whitespace, and every punctuation character a word of its own
// ("Crème Fraîche, 8oz" → crème→"creme", "fraiche", ",", "8oz"). Lexical
// search (package bm25) uses it so that its terms match the encoder's
// normalisation and scripts/encoder/bm25.py. Safe for concurrent use.
func BasicWords(text string) []string {
	var out []string
	s := &scratch{onWord: func(w []byte) { out = append(out, string(w)) }}
	basic.appendSegment(s, text)
	return out
}
