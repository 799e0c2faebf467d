// Package derive builds catalogue files (package catalog's JSONL) from the
// public data sets, whose items carry names and category levels but none of
// what a retailer's catalogue has: price, margin, shipping cost, stock,
// promotions, and for most items brand, flavour and size. It fills them in
// two ways, and the file's header lists the columns each way made:
//
//   - synthetic (Economics): price, margin, shipping_cost, stock and
//     on_promotion are drawn from a SHA-256 hash of a fixed seed and the item
//     id, so they are the same on every machine and every run, and mean
//     nothing about the real products;
//   - derived (Size, Flavour, Brands): size/pack, flavour and brand are read
//     from the product name by the documented rules in names.go and
//     brands.go. They are heuristics: right on the hand-checked names in the
//     tests, not measured beyond them.
//
// Groceries builds the default repository's catalogue (committed: the 169
// Groceries categories with their level2/level1 names). Instacart builds one
// from ../shared/data/instacart into build/ only: Instacart's terms are
// non-commercial, so that file and anything derived from it are never
// committed. cmd: go run ./scripts/catalog (see its -h).
package derive
