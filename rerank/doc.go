// Package rerank orders a surface's candidates by a declared objective:
//
//	score = relevance·w.relevance + affinity·w.affinity + margin·w.margin
//	        − shipping_cost·w.shipping_cost − popularity·w.popularity
//
// after hard filters and before diversity.
//
//   - relevance: the candidate source's model score, normalised by the caller
//     to [0, 1] within its source (so sources with different scales mix).
//   - affinity: the guest's affinity to the item, the sum over the item's
//     attributes of Affinities[attribute][value] (guest features; zero for an
//     unknown guest or when features are unavailable).
//   - margin, shipping_cost: the catalogue attributes of those names, as
//     numbers (a missing or malformed value counts as 0): the candidate's
//     Numbers, parsed once at catalogue load, or, without them, its Attrs
//     parsed per call.
//   - popularity: the item's popularity in [0, 1] (1 = most popular); a
//     positive weight debiases toward the long tail.
//
// Hard filters drop a candidate whatever its score: out of stock (attribute
// "stock" ≤ 0; an item without the attribute is kept), a category excluded
// by the surface or the request, an item already in the cart, an item
// excluded by id. Diversity then picks the slate greedily: at most
// max_per_category items of one category (the rest move behind every
// capped-in item, so a short list is back-filled rather than cut), and with
// mmr_lambda < 1 maximal marginal relevance over category similarity (1 for
// the same category, 0 otherwise).
//
// Every returned item carries its score components, so a response can say
// why it ranked where it did. Rank is a pure function of its arguments:
// safe for concurrent use, no I/O, no allocation beyond the result.
package rerank
