package main

import (
	"flag"

	"github.com/aisle-ai/aisle/server"
)

// addLimitFlags registers the per-field request limits of "aisle serve".
func addLimitFlags(fs *flag.FlagSet, l *server.Limits) {
	fs.IntVar(&l.MaxTextBytes, server.FlagMaxTextBytes, server.DefaultMaxTextBytes, "largest EmbedQuery text (and cart item name) in bytes")
	fs.IntVar(&l.MaxTexts, server.FlagMaxTexts, server.DefaultMaxTexts, "most texts in one EmbedQuery")
	fs.IntVar(&l.MaxCartItems, server.FlagMaxCartItems, server.DefaultMaxCartItems, "most item_ids + item_names + exclude_ids in one RecommendCart")
	fs.IntVar(&l.MaxK, server.FlagMaxK, server.DefaultMaxK, "largest k of one RecommendCart")
	fs.IntVar(&l.MaxTensorRank, server.FlagMaxTensorRank, server.DefaultMaxTensorRank, "most dimensions of one ModelInfer input")
	fs.Int64Var(&l.MaxTensorElements, server.FlagMaxTensorElements, server.DefaultMaxTensorElements, "most elements of one ModelInfer input")
}
