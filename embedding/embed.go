package embedding

import (
	"context"
	"fmt"
	"math"

	"golang.org/x/sync/errgroup"

	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
	"github.com/aisle-ai/aisle/tokenize"
)

// maxInFlight bounds the texts of one call queued at once.
const maxInFlight = 64

// Result is one text's embedding.
type Result struct {
	Vector     []float32
	TokenCount int
	Truncated  bool
}

// Runner runs one request on a model version; *repository.Version is one.
type Runner interface {
	Infer(ctx context.Context, req repository.Request) ([]tensor.Tensor, error)
}

// Embed encodes texts through r. Texts must be valid UTF-8; an empty text
// encodes as [CLS] [SEP]. Each text is queued as its own request so the
// scheduler can batch it with other callers' texts.
func (e *Encoder) Embed(ctx context.Context, r Runner, texts []string) ([]Result, error) {
	if len(texts) == 0 {
		return nil, fmt.Errorf("%w: no texts", ErrInvalidText)
	}
	if len(texts) > MaxTexts {
		return nil, fmt.Errorf("%w: %d texts; at most %d per call", ErrInvalidText, len(texts), MaxTexts)
	}
	// Bounded: a huge text costs the tokens kept, not its length.
	encs, err := e.tok.EncodeBatchBounded(texts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidText, err)
	}
	out := make([]Result, len(texts))
	if len(encs) == 1 {
		// The common call (one query) runs on the caller's goroutine: no
		// errgroup, goroutine or cancel context per request.
		vec, err := e.embedOne(ctx, r, &encs[0])
		if err != nil {
			return nil, fmt.Errorf("text 0: %w", err)
		}
		out[0] = Result{Vector: vec, TokenCount: encs[0].TokenCount, Truncated: encs[0].Truncated}
		return out, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	// Enough texts in flight to fill a batch, without one large call
	// flooding the model's bounded queue and starving other callers.
	g.SetLimit(maxInFlight)
	for i := range encs {
		g.Go(func() error {
			vec, err := e.embedOne(gctx, r, &encs[i])
			if err != nil {
				return fmt.Errorf("text %d: %w", i, err)
			}
			out[i] = Result{Vector: vec, TokenCount: encs[i].TokenCount, Truncated: encs[i].Truncated}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (e *Encoder) embedOne(ctx context.Context, r Runner, enc *tokenize.Encoding) ([]float32, error) {
	outs, err := r.Infer(ctx, repository.Request{Inputs: e.inputTensors(enc)})
	if err != nil {
		return nil, err
	}
	return e.pool(&outs[e.output], enc.AttentionMask)
}

func (e *Encoder) inputTensors(enc *tokenize.Encoding) []tensor.Tensor {
	shape := []int64{1, int64(len(enc.IDs))}
	ts := make([]tensor.Tensor, len(e.inputs))
	names := [...]string{roleIDs: "input_ids", roleMask: "attention_mask", roleTypes: "token_type_ids"}
	for i, role := range e.inputs {
		var s []int64
		switch role {
		case roleIDs:
			s = enc.IDs
		case roleMask:
			s = enc.AttentionMask
		case roleTypes:
			s = enc.TypeIDs
		}
		ts[i] = tensor.FromSlice(names[role], shape, s)
	}
	return ts
}

// pool reduces out (shape [1, seq, dim] or [1, dim]) to one vector.
func (e *Encoder) pool(out *tensor.Tensor, mask []int64) ([]float32, error) {
	data := tensor.View[float32](out.Data)
	if e.pooling == PoolNone || len(out.Shape) == 2 {
		return e.finish(append([]float32(nil), data...)), nil
	}
	if len(out.Shape) != 3 || out.Shape[0] != 1 {
		return nil, fmt.Errorf("output %s has shape %v; want [1, seq, dim]", out.Name, out.Shape)
	}
	seq, dim := int(out.Shape[1]), int(out.Shape[2])
	vec := make([]float32, dim)
	if e.pooling == PoolCLS {
		copy(vec, data[:dim])
		return e.finish(vec), nil
	}
	n := 0
	for s := 0; s < seq && s < len(mask); s++ {
		if mask[s] == 0 {
			continue
		}
		n++
		row := data[s*dim : (s+1)*dim]
		for j, x := range row {
			vec[j] += x
		}
	}
	for j := range vec {
		vec[j] /= float32(max(n, 1))
	}
	return e.finish(vec), nil
}

func (e *Encoder) finish(v []float32) []float32 {
	if !e.normalize {
		return v
	}
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
	return v
}
