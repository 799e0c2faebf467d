// Package bm25 is lexical search over item names: Okapi BM25, the baseline
// the query encoder is measured against in MODELS.md, and the lexical term
// of hybrid search (recommend.TextIndex; fusion.Blend weighs it against the
// encoder's cosine and the category intent of package intent).
//
// # Scoring
//
// For a query q and an item name d,
//
//	score(q, d) = Σ_{t ∈ q} qtf(t) · idf(t) · tf(t,d)·(k1+1) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))
//	idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
//
// with N names, df(t) the names holding term t, |d| the name's length in
// terms and avgdl the mean length; a query term repeated qtf times counts
// qtf times. The idf is Lucene's, which never goes negative (the original
// Robertson idf does for terms in more than half the names, and "milk" is
// in many). k1 = 1.2 (how fast repeated terms saturate) and b = 0.75 (how
// much long names are discounted) are the textbook defaults and the values
// of scripts/encoder/bm25.py, so the Go index and the evaluation agree.
//
// # Terms
//
// Terms are tokenize.BasicWords (bert-base-uncased normalisation:
// lowercase, accents stripped, split on whitespace and punctuation) with the
// punctuation words dropped: the same terms as the encoder's tokenizer sees
// and as scripts/encoder/bm25.py.
//
// # Cost
//
// New precomputes every (term, name) weight, so a query costs one map
// lookup per query term plus one addition per posting; Search keeps the
// best k with a heap. An Index is immutable and safe for concurrent use.
package bm25
