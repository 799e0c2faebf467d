package cart

import (
	"context"
	"fmt"

	"github.com/aisle-ai/aisle/graphnn"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

// Session runs the model on one cart, given as rows of the item table in
// the order the items were added, and returns its session embedding: the
// query for an index over items.f32 (see SessionQueriesItems). Longer carts
// keep their last max_cart_items rows. The vector is the caller's.
func (r *Recommender) Session(ctx context.Context, run Runner, rows []int64) ([]float32, error) {
	if r.dim == 0 {
		return nil, fmt.Errorf("%w: the model has no %q output", ErrNotRecommender, SessionOutput)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: empty cart", ErrInvalidCart)
	}
	outs, err := r.infer(ctx, run, graphnn.Last(rows, r.maxCart), []string{SessionOutput})
	if err != nil {
		return nil, err
	}
	return r.sessionOf(outs[0])
}

// infer runs the model on one cart (rows, already cut to max_cart_items)
// for the named outputs: the graph batch is built in a pooled scratch,
// which the run no longer needs once Infer returns (its outputs are the
// run's own buffers). A cart the batch builder refuses is ErrInvalidCart.
func (r *Recommender) infer(ctx context.Context, run Runner, rows []int64, outputs []string) ([]tensor.Tensor, error) {
	s := r.pool.Get().(*scratch)
	defer r.pool.Put(s)
	if err := s.b.Build([][]int64{rows}, &s.batch); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCart, err)
	}
	return run.Infer(ctx, repository.Request{Inputs: bucketTensors(&s.batch), Outputs: outputs})
}

// sessionOf checks a run's session output against the model's dimension
// and copies it for the caller (the tensor's buffer is the run's).
func (r *Recommender) sessionOf(t tensor.Tensor) ([]float32, error) {
	v := tensor.View[float32](t.Data)
	if len(v) != r.dim {
		return nil, fmt.Errorf("model returned a %d-dim session, want %d", len(v), r.dim)
	}
	return append([]float32(nil), v...), nil
}
