package main

import (
	"flag"

	"github.com/aisle-ai/aisle/server"
)

// addLimitFlags registers the per-field request limits of "aisle serve".
func addLimitFlags(fs *flag.FlagSet, l *server.Limits) {
	fs.IntVar(&l.MaxTextBytes, "max-text-bytes", server.DefaultMaxTextBytes, "largest EmbedQuery text (and cart item name) in bytes")
	fs.IntVar(&l.MaxTexts, "max-texts", server.DefaultMaxTexts, "most texts in one EmbedQuery")
	fs.IntVar(&l.MaxCartItems, "max-cart-items", server.DefaultMaxCartItems, "most item_ids + item_names + exclude_ids in one RecommendCart")
	fs.IntVar(&l.MaxK, "max-k", server.DefaultMaxK, "largest k of one RecommendCart")
	fs.IntVar(&l.MaxTensorRank, "max-tensor-rank", server.DefaultMaxTensorRank, "most dimensions of one ModelInfer input")
	fs.Int64Var(&l.MaxTensorElements, "max-tensor-elements", server.DefaultMaxTensorElements, "most elements of one ModelInfer input")
}
