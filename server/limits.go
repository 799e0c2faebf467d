package server

import (
	"fmt"

	"github.com/aisle-ai/aisle/embedding"
	"github.com/aisle-ai/aisle/excerpt"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// Defaults of Limits. Each is far above what a legitimate call needs and
// far below what would cost the server noticeable time or memory.
const (
	// DefaultMaxTextBytes: a search query or product title is well under
	// 1 KiB; 64 KiB leaves room for descriptions. The encoder keeps 32 to
	// 512 tokens (a few KiB of text) whatever the length.
	DefaultMaxTextBytes = 64 << 10
	// DefaultMaxTexts is embedding.MaxTexts, the most one EmbedQuery queues.
	DefaultMaxTexts = embedding.MaxTexts
	// DefaultMaxCartItems bounds item_ids + item_names + exclude_ids; a cart
	// model keeps its most recent max_cart_items (50 by default) anyway.
	DefaultMaxCartItems = 1000
	// DefaultMaxK bounds the recommendations asked for.
	DefaultMaxK = 1000
	// DefaultMaxTensorRank: ONNX models seldom exceed 5 dimensions.
	DefaultMaxTensorRank = 8
	// DefaultMaxTensorElements: 16 Mi elements (64 MiB of FP32) per input,
	// the size of the default largest gRPC message.
	DefaultMaxTensorElements = 16 << 20
)

// Option names of the Limits fields: the `aisle serve` flags and
// configuration keys (cmd/aisle registers them), and a LimitError's Name.
const (
	FlagMaxTextBytes      = "max-text-bytes"
	FlagMaxTexts          = "max-texts"
	FlagMaxCartItems      = "max-cart-items"
	FlagMaxK              = "max-k"
	FlagMaxTensorRank     = "max-tensor-rank"
	FlagMaxTensorElements = "max-tensor-elements"
)

// Limits bound the fields of a request. They are checked when the request
// arrives, before any model lookup, tokenization or decoding, and a request
// over one is INVALID_ARGUMENT naming the field and the limit. Zero fields
// take the Default values.
type Limits struct {
	MaxTextBytes      int   // bytes in one EmbedQuery text
	MaxTexts          int   // texts in one EmbedQuery
	MaxCartItems      int   // item_ids + item_names + exclude_ids in one RecommendCart
	MaxK              int   // k of one RecommendCart
	MaxTensorRank     int   // dimensions of one ModelInfer input
	MaxTensorElements int64 // elements of one ModelInfer input
}

// withDefaults fills zero fields.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxTextBytes, DefaultMaxTextBytes)
	def(&l.MaxTexts, DefaultMaxTexts)
	def(&l.MaxCartItems, DefaultMaxCartItems)
	def(&l.MaxK, DefaultMaxK)
	def(&l.MaxTensorRank, DefaultMaxTensorRank)
	if l.MaxTensorElements <= 0 {
		l.MaxTensorElements = DefaultMaxTensorElements
	}
	return l
}

// LimitError is a limit no server could honour. Name is the limit's
// option name, the `aisle serve` flag and configuration key (FlagMaxTexts).
type LimitError struct {
	Name    string
	Problem string
}

func (e *LimitError) Error() string { return e.Name + ": " + e.Problem }

// Validate reports the first limit no server could honour, as a
// *LimitError; cmd/aisle's configuration check calls it.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{FlagMaxTextBytes, int64(l.MaxTextBytes)}, {FlagMaxTexts, int64(l.MaxTexts)}, {FlagMaxCartItems, int64(l.MaxCartItems)},
		{FlagMaxK, int64(l.MaxK)}, {FlagMaxTensorRank, int64(l.MaxTensorRank)}, {FlagMaxTensorElements, l.MaxTensorElements},
	} {
		if f.v < 0 {
			return &LimitError{f.name, fmt.Sprintf("must be >= 0 (0 takes the default), got %d", f.v)}
		}
	}
	if l.MaxTexts > embedding.MaxTexts {
		return &LimitError{FlagMaxTexts, fmt.Sprintf("%d is over the most the server supports, %d (the encoder's per call)", l.MaxTexts, embedding.MaxTexts)}
	}
	return nil
}

func (l Limits) checkEmbed(req *aislepb.EmbedQueryRequest) error {
	if n := len(req.Texts); n > l.MaxTexts {
		return fmt.Errorf("%w: texts: %d texts; at most %d per call", errBadRequest, n, l.MaxTexts)
	}
	for i, t := range req.Texts {
		if len(t) > l.MaxTextBytes {
			return fmt.Errorf("%w: texts[%d]: %d bytes; at most %d per text", errBadRequest, i, len(t), l.MaxTextBytes)
		}
	}
	return nil
}

func (l Limits) checkCart(req *aislepb.RecommendCartRequest) error {
	if n := len(req.ItemIds) + len(req.ItemNames) + len(req.ExcludeIds); n > l.MaxCartItems {
		return fmt.Errorf("%w: item_ids, item_names and exclude_ids: %d entries; at most %d", errBadRequest, n, l.MaxCartItems)
	}
	for i, name := range req.ItemNames {
		if len(name) > l.MaxTextBytes {
			return fmt.Errorf("%w: item_names[%d]: %d bytes; at most %d", errBadRequest, i, len(name), l.MaxTextBytes)
		}
	}
	if req.K < 0 || int(req.K) > l.MaxK {
		return fmt.Errorf("%w: k: %d; want 0 (the default) to %d", errBadRequest, req.K, l.MaxK)
	}
	return nil
}

func (l Limits) checkInfer(req *pb.ModelInferRequest) error {
	for _, in := range req.Inputs {
		if r := len(in.Shape); r > l.MaxTensorRank {
			return fmt.Errorf("%w: input %s: shape has %d dimensions; at most %d", errBadRequest, excerpt.Quote(in.Name), r, l.MaxTensorRank)
		}
		if n := tensor.NumElements(in.Shape); n > l.MaxTensorElements {
			return fmt.Errorf("%w: input %s: shape %s has %d elements; at most %d", errBadRequest, excerpt.Quote(in.Name), excerpt.Shape(in.Shape), n, l.MaxTensorElements)
		}
	}
	return nil
}
