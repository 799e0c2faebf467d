// Package coldstart is docs/evaluation.md A13's cold-start rule for
// catalogue items a cart model never saw in training: it gives such an
// item a vector in the model's item space from catalogue data alone, so a
// session embedding can score it as the model scores a known item.
// scripts/eval/coldstart.py is the reference implementation; this package
// reproduces it bit for bit (recommend.TestColdStartGolden, against the
// committed output of scripts/eval/coldstart_golden.py).
//
// # The rule
//
// Known items are those with a row in the model's item vectors, in row
// order. A new item u gets the mean of the vectors of
//
//	S1 = the known items in u's aisle sharing at least one name token with u
//	S2 = the known items in u's aisle                    (if S1 is empty)
//	S3 = the known items in u's department               (if S2 is empty)
//
// and otherwise no vector: it is unreachable. An empty aisle or department
// matches nothing (neither u's nor a known item's).
//
// Name tokens are the maximal runs of ASCII [a-z0-9] in the name's UTF-8
// bytes after lowercasing ASCII letters only (Tokens): any other byte,
// including every byte of a non-ASCII character, separates tokens, so Go
// and Python split identically whatever the name holds ("Crème" is "cr",
// "me").
//
// The mean is summed in float64 over the members in ascending known order,
// divided by the member count in float64, then rounded to float32: the
// reference's operations in its order, hence the same bits.
//
// A session scores a reachable new item by the dot product of the session
// embedding with its vector (float32, as the item index scores known
// items); ties go to the lower catalogue position. recommend's new_items
// source ranks them so with the exact index it has for known items
// (recommend.FlatIndex over the new items' vectors, in catalogue order).
//
// # Cost
//
// NewKnown indexes the known items by aisle and department once; Vectors
// then reads only the members of each new item's aisle (or department).
// Callers build the vectors once per (catalogue, model version) and keep
// them; a request only searches the reachable new items.
package coldstart
