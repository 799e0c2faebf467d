package cart

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aisle-ai/aisle/graphnn"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

// Cart is one recommendation request. Items named by id come first, then
// items named by name, in the order given (the order they were added).
type Cart struct {
	IDs     []int64
	Names   []string
	K       int
	Exclude []int64
}

// Scored is one recommended item.
type Scored struct {
	ID    int64
	Name  string
	Score float32
	Row   int // row of the item table
}

// Result is the answer to a Cart.
type Result struct {
	Items []Scored
	// Unknown lists cart entries not in the catalogue (ids as decimal
	// strings, names as given); they were skipped.
	Unknown []string
	// Fallback is set when no known item was left and the popular items
	// were returned instead.
	Fallback bool
	// Used is the number of cart items the model saw (after skipping
	// unknown ones and keeping the most recent max_cart_items).
	Used int
}

// Runner runs one request on a model version; *repository.Version is one.
type Runner interface {
	Infer(ctx context.Context, req repository.Request) ([]tensor.Tensor, error)
}

// Recommend scores the catalogue for cart c.
func (r *Recommender) Recommend(ctx context.Context, run Runner, c Cart) (Result, error) {
	if c.K < 0 {
		return Result{}, fmt.Errorf("%w: k %d must be >= 0 (0 means %d)", ErrInvalidCart, c.K, DefaultK)
	}
	k := c.K
	if k == 0 {
		k = DefaultK
	}
	k = min(k, r.NumItems())
	rows, unknown := r.resolve(c)
	res := Result{Unknown: unknown}
	excl := r.exclusions(c.Exclude, rows)
	// The ensemble's session kNN and co-occurrence read the whole cart, as
	// the evaluation does; only the GNN is cut to its last maxCart items.
	whole := rows
	rows = graphnn.Last(rows, r.maxCart)
	res.Used = len(rows)
	if len(rows) == 0 {
		res.Fallback = true
		res.Items = r.topPopular(k, excl)
		return res, nil
	}
	scores, _, err := r.score(ctx, run, rows, false)
	if err != nil {
		return Result{}, err
	}
	if r.ens != nil {
		res.Items = r.topBlend(scores, whole, k, func(row int) bool { return excl[row] })
		return res, nil
	}
	res.Items = r.top(scores, k, excl)
	return res, nil
}

// resolve maps cart entries to catalogue rows, collecting unknown ones.
func (r *Recommender) resolve(c Cart) (rows []int64, unknown []string) {
	for _, id := range c.IDs {
		if row, ok := r.items.RowOfID(id); ok {
			rows = append(rows, int64(row))
		} else {
			unknown = append(unknown, strconv.FormatInt(id, 10))
		}
	}
	for _, name := range c.Names {
		if row, ok := r.items.RowOfName(name); ok {
			rows = append(rows, int64(row))
		} else {
			unknown = append(unknown, name)
		}
	}
	return rows, unknown
}

func (r *Recommender) exclusions(ids []int64, cart []int64) map[int]bool {
	excl := map[int]bool{}
	for _, id := range ids {
		if row, ok := r.items.RowOfID(id); ok {
			excl[row] = true
		}
	}
	if r.excludeOwn {
		for _, row := range cart {
			excl[int(row)] = true
		}
	}
	return excl
}

// score runs the model on one cart and returns its scores over the
// catalogue and, with session true and a model that has a session output,
// the cart's session embedding from the same run (the caller's copy): the
// model computes every output anyway. A session of the wrong shape is left
// out (nil), not an error: the scores do not depend on it, and its reader
// (Recommend's new_items source) then contributes nothing.
func (r *Recommender) score(ctx context.Context, run Runner, rows []int64, session bool) ([]float32, []float32, error) {
	outputs := []string{r.scores}
	session = session && r.dim > 0
	if session {
		outputs = append(outputs, SessionOutput)
	}
	outs, err := r.infer(ctx, run, rows, outputs)
	if err != nil {
		return nil, nil, err
	}
	scores := tensor.View[float32](outs[0].Data)
	if len(scores) != r.NumItems() {
		return nil, nil, fmt.Errorf("model returned %d scores for %d items", len(scores), r.NumItems())
	}
	if !session {
		return scores, nil, nil
	}
	v, err := r.sessionOf(outs[1])
	if err != nil {
		return scores, nil, nil
	}
	return scores, v, nil
}

// Blends reports whether the model ranks by the A11 ensemble (its
// ensemble_* parameters) rather than by its scores alone; its session
// embedding is then no ranking of its own (see TopRows).
func (r *Recommender) Blends() bool { return r.ens != nil }

// TopRows is Recommend for a cart of item-table rows, in the order they
// were added: the k best rows by the ensemble, best first, leaving out
// the cart's own rows and those skip reports. It is Recommend's session
// source for a model that Blends. With session true it also returns the
// cart's session embedding, as Session would compute it, from the same
// model run (nil when the model has no session output or returned one of
// the wrong shape; the ranking stands either way): Recommend's new_items
// source scores the items the model never saw with it, without running
// the model a second time. It fails with ErrNotRecommender when the model
// does not blend.
func (r *Recommender) TopRows(ctx context.Context, run Runner, rows []int64, k int, skip func(row int) bool, session bool) ([]Scored, []float32, error) {
	if r.ens == nil {
		return nil, nil, fmt.Errorf("%w: the model has no ensemble", ErrNotRecommender)
	}
	if len(rows) == 0 || k <= 0 {
		return nil, nil, nil
	}
	own := make(map[int]bool, len(rows)) // the whole cart, before the model's cut
	for _, row := range rows {
		own[int(row)] = true
	}
	scores, sess, err := r.score(ctx, run, graphnn.Last(rows, r.maxCart), session)
	if err != nil {
		return nil, nil, err
	}
	return r.topBlend(scores, rows, min(k, r.NumItems()), func(row int) bool { return own[row] || skip != nil && skip(row) }), sess, nil
}
