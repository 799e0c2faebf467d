package embedding

import (
	"context"
	"fmt"

	"github.com/aisle-ai/aisle/excerpt"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

// TextInput and EmbeddingOutput name the tensors of a text encoder called
// through KServe ModelInfer with raw text.
const (
	TextInput       = "text"
	EmbeddingOutput = "embedding"
)

// AcceptsText reports whether req carries raw text (one BYTES input) rather
// than the model's own token tensors.
func AcceptsText(req repository.Request) bool {
	return len(req.Inputs) == 1 && req.Inputs[0].DType == tensor.Bytes
}

// InferText serves a KServe request whose single BYTES input holds texts
// (shape [n] or [n, 1]) and returns one FP32 output "embedding" [n, dim].
func (e *Encoder) InferText(ctx context.Context, r Runner, req repository.Request) ([]tensor.Tensor, error) {
	in := req.Inputs[0]
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("%w: input %s: %v", ErrInvalidText, excerpt.Quote(in.Name), err)
	}
	if len(in.Shape) == 0 || len(in.Shape) > 2 || (len(in.Shape) == 2 && in.Shape[1] != 1) {
		return nil, fmt.Errorf("%w: input %s has shape %s; expected [n] or [n, 1] texts", ErrInvalidText, excerpt.Quote(in.Name), excerpt.Shape(in.Shape))
	}
	for _, o := range req.Outputs {
		if o != EmbeddingOutput {
			return nil, fmt.Errorf("%w: unknown output %s; a text request returns %q", ErrInvalidText, excerpt.Quote(o), EmbeddingOutput)
		}
	}
	texts := make([]string, len(in.Strings))
	for i, s := range in.Strings {
		texts[i] = string(s)
	}
	res, err := e.Embed(ctx, r, texts)
	if err != nil {
		return nil, err
	}
	dim := len(res[0].Vector)
	flat := make([]float32, 0, len(res)*dim)
	for _, r := range res {
		flat = append(flat, r.Vector...)
	}
	return []tensor.Tensor{tensor.FromSlice(EmbeddingOutput, []int64{int64(len(res)), int64(dim)}, flat)}, nil
}
