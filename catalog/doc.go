// Package catalog holds aisle's items: who they are (id, name), what they
// are (category, aisle, department, brand, flavour, size) and what selling
// them is worth (price, margin, shipping cost, stock, promotion). Guest
// features aggregate over the attributes, the re-ranker reads the economics
// and the candidate indexes iterate the items.
//
// It also reads the per-model item tables and embedding matrices that the
// offline exporters write beside model.onnx (ReadTable, ReadMatrix).
//
// # The catalogue file
//
// One JSON object per line (JSONL), UTF-8, in the model repository beside the
// model directories (the default repository's is models/catalog.jsonl; the
// repository scanner only looks at directories, so a file at the root is
// never mistaken for a model). Fields of an item line:
//
//	id            string, required: [A-Za-z0-9._:-], 1–64 bytes, unique
//	name          string, required, 1–256 bytes
//	category, aisle, department, brand, flavour, size
//	              strings, optional (default ""), at most 128 bytes each
//	price         number, required: currency units per item, >= 0
//	stock         integer, required: units available, >= 0 (0 = out of stock)
//	margin        number, optional (default 0): gross margin as a fraction of
//	              price, in [-1, 1] (negative for loss leaders)
//	shipping_cost number, optional (default 0): currency units per item, >= 0
//	on_promotion  bool, optional (default false)
//
// The first line may instead be a header naming the catalogue's version and
// which columns are synthetic or derived:
//
//	{"catalog_version":"groceries-1","source":"...","synthetic":["price"],"derived":["aisle"],"doc":"..."}
//
// Validation is strict, so a typo cannot silently become an empty column:
// an unknown key, a missing required key, a null, a value of the wrong type
// or out of range, a duplicate id, or a header anywhere but line 1 refuses
// the whole file, and the error names the line and the field
// (ErrInvalid). Blank lines are skipped.
//
// # Versions
//
// A Catalog reports the header's catalog_version (what a person called it)
// and Hash, the SHA-256 of the file's bytes (what was actually loaded), so
// two replicas can be compared by hash even when someone forgot to bump the
// version.
//
// # Hot reload
//
// A Store serves one immutable *Catalog at a time behind an atomic pointer:
// readers never lock and never see a half-loaded catalogue. Run polls the
// file (every StoreOptions.Interval, 5 s by default); a file whose size and
// modification time have changed and then held still for one poll is read,
// validated and swapped in whole. The hold-still rule keeps an editor's
// in-place write from being loaded half-written; writers that rename a
// finished file into place are picked up one poll later all the same. A
// file that fails validation is logged, counted in
// aisle_catalog_reloads_total{result="error"} and otherwise ignored: the
// previous catalogue keeps serving, and the same bad bytes are not
// re-parsed on every poll. A deleted file also keeps the last catalogue.
//
// # Attributes
//
// ItemAttributes returns the attributes guest features aggregate over, as a
// fresh map the caller owns: category, aisle, department, brand, flavour and
// size when non-empty (the Groceries catalogue has no brand, flavour or
// size, and an empty value is not a preference), and on_promotion, always
// present as "true" or "false".
package catalog
