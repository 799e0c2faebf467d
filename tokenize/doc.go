// Package tokenize turns text into BERT WordPiece token ids, the input of aisle's text
// encoders.
//
// A [Tokenizer] is loaded from a Hugging Face tokenizer.json (BertNormalizer,
// BertPreTokenizer, WordPiece model, TemplateProcessing or BertProcessing post-processor)
// or from a bare BERT vocab.txt, which gets the pipeline of bert-base-uncased. Its ids equal
// those of Hugging Face's tokenizers library; the goldens under testdata/ were written by
// that library (scripts/tokenizer/golden.js) and the tests hold the package to them.
//
// The pipeline is implemented here rather than with github.com/sugarme/tokenizer v0.3.0:
// on the golden texts sugarme gives other ids than the reference for 535 of the 2,478
// (all of them non-ASCII: "GEMÜSE" becomes [UNK]), panics on 7 (such as "İstanbul" and
// "Ohm Ω", where normalizing changes the byte length), and runs many times slower; see
// sugarme_test.go and BENCH.md. The character classes come from unicode_tables.go, read
// off the reference by scripts/tokenizer/gen_unicode_tables.js, because the Rust library's
// tables are of other Unicode versions than Go's.
//
// Added tokens ([CLS], [SEP], [MASK], ...) written in the input text are matched before
// normalization and become their ids, as in the reference: "milk [SEP] bread" holds a
// real separator. Matching is case-sensitive, so "[sep]" is ordinary text.
//
// EncodeBounded and EncodeBatchBounded are the calls for untrusted text: they stop
// tokenizing once the text has given one id more than MaxSeqLen allows, normalizing
// 4 KiB at a time, so a 32 MiB text costs what its first words cost (see
// TestBoundedHugeText). Their ids equal Encode's for every text; only TokenCount of a
// truncated text is then a lower bound.
package tokenize
