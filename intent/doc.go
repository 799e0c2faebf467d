// Package intent is the category-intent signal of hybrid search: a
// multinomial naive-Bayes classifier from item names to their category
// (the catalogue's aisle), fitted when a catalogue is loaded, that gives
// P(category | query) for a query text and the most probable category of
// an item name.
//
// # Model
//
// Terms are bm25.Terms (the encoder's word normalisation, punctuation
// dropped). With V the number of distinct terms over all names, count(t, a)
// the occurrences of term t in names of category a and total(a) their sum,
//
//	log P(t | a)    = log((count(t, a) + 1) / (total(a) + V))     (add-one smoothing)
//	log P(a)        = log(names of a / names)
//	log P(a | text) = log P(a) + Σ_{t ∈ text, t known} log P(t | a) − log Σ_a' (same)
//
// a term repeated in the text counts each time; unknown terms are skipped.
// A text with no known term has no posterior (Posterior's ok is false):
// hybrid search then adds no intent at all, rather than the prior, which
// would favour the big categories for every unknown word. With exact names
// on, a query whose terms equal a category name's terms is that category
// with probability 1 (the catalogue knows its own category names).
//
// NamePosterior gives an item's whole distribution P(a | name) (the prior
// when no term is known), for the soft intent Σ_a P(a | query)·P(a | name);
// IsLabel is the exact-name test hybrid search routes category queries by.
//
// This is the classifier of scripts/eval/intent.py, the baseline of
// docs/evaluation.md 2.3, and the hybrid's intent term (A5): MODELS.md
// measures it. Labels are ordered by byte order (Python's sorted order for
// UTF-8), and Predict breaks ties towards the first label, as numpy's
// argmax does, so both sides predict the same category.
//
// # Cost
//
// Fit is one pass over the names plus V·labels logarithms (Instacart's
// 49,688 names and 134 aisles: about 10k terms, 1.4M entries, 11 MB).
// Posterior costs one label-sized row addition per query term. A
// Classifier is immutable and safe for concurrent use.
package intent
