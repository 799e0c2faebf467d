package recommend

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/aisle-ai/aisle/rerank"
)

// call is one Recommend call's state. Its stages run in order; only the
// features lookup runs beside the embeddings, and it hands its result back
// through a channel, so no field needs a lock.
type call struct {
	p      *Pipeline
	req    Request
	sf     *Surface
	k      int
	models map[string]*model
	resp   *Response

	aff     rerank.Affinities
	vectors map[int][]float32 // query vector by source index
	// sessions holds the cart's session embedding by cart model name, for
	// the session and new_items sources (computed once per model); nil
	// until one is set (setSession): most calls compute none, and the map
	// was allocated for every call of every surface.
	sessions map[string][]float32
	// blended holds, by source index, the session source's hits from a cart
	// model that serves the ensemble (cart.Recommender.Blends): ranked by
	// the model itself in the embeddings stage, not by an index search.
	blended map[int][]scored
	cands   map[string]*cand
	order   []string // candidate ids in the order found, for determinism
	inCart  map[string]bool
	// cartKnown[i] is whether some model's item table resolved cart entry
	// i (resolve); the new_items source matches only the others.
	cartKnown []bool
	// exclude is the request's excluded ids as a set, built once per call.
	exclude map[string]bool
	// popularity is the surface's first popular snapshot: the popularity
	// term of the objective and the back-fill.
	popularity *popularSnapshot
	merged     *mergedAttrs // set on first use
	// arms[i] is the bandit arm credited for slot i (Pick.Name or the
	// item's source), for the impression.
	arms []string
}

// cand is one merged candidate.
type cand struct {
	id, name, source string
	rel              float64
	pop              float64
}

func (p *Pipeline) newCall(req Request, sf *Surface, k int) *call {
	exclude := make(map[string]bool, len(req.Filters.ExcludeIDs))
	for _, id := range req.Filters.ExcludeIDs {
		exclude[id] = true
	}
	return &call{p: p, req: req, sf: sf, k: k, models: map[string]*model{},
		resp:    &Response{Surface: req.Surface, ImpressionID: newImpressionID()},
		vectors: map[int][]float32{}, blended: map[int][]scored{}, cands: map[string]*cand{}, inCart: map[string]bool{}, exclude: exclude}
}

// run executes the stages: features ∥ embeddings → candidates → filter and
// re-rank (with back-fill) → slate → impression.
func (c *call) run(ctx context.Context) error {
	c.resolve()
	// The lookup gets its own budget; the wait for it is bounded by the
	// same budget, so a store that ignores its context cannot hold the
	// call (its goroutine ends when the store returns; the channel is
	// buffered).
	fctx, cancel := context.WithTimeout(ctx, c.sf.Budgets.Features)
	defer cancel()
	feats := make(chan featureResult, 1)
	t0 := time.Now()
	go func() { feats <- c.features(fctx) }()
	var rungs []Rung
	c.embeddings(ctx, &rungs)
	c.p.metrics.observe(c.req.Surface, StageEmbeddings, t0)
	var f featureResult
	select {
	case f = <-feats:
	case <-fctx.Done():
		select {
		case f = <-feats:
		default:
			f = featureResult{rung: &Rung{StageFeatures, "timeout"}}
		}
	}
	c.p.metrics.observe(c.req.Surface, StageFeatures, t0)
	c.aff = f.aff
	if f.rung != nil {
		c.degrade(f.rung.Stage, f.rung.Reason)
	}
	for _, r := range rungs {
		c.degrade(r.Stage, r.Reason)
	}
	t1 := time.Now()
	c.candidates(ctx)
	c.p.metrics.observe(c.req.Surface, StageCandidates, t1)
	t2 := time.Now()
	ranked, err := c.rank()
	if err != nil {
		return err
	}
	c.p.metrics.observe(c.req.Surface, StageRerank, t2)
	// A call past its deadline is not answered: it must not log an
	// impression or count a bandit pull for a slate nobody sees.
	if err := ctx.Err(); err != nil {
		return err
	}
	t3 := time.Now()
	c.slate(ctx, ranked)
	c.impression(ctx)
	c.p.metrics.observe(c.req.Surface, StageSlate, t3)
	return nil
}

type featureResult struct {
	aff  rerank.Affinities
	rung *Rung
}

// features looks up the guest's affinities; ctx carries the features
// budget.
func (c *call) features(ctx context.Context) featureResult {
	switch {
	case c.req.GuestID == "":
		return featureResult{rung: &Rung{StageFeatures, "unknown_guest"}}
	case c.p.opts.Features == nil:
		return featureResult{rung: &Rung{StageFeatures, "not_configured"}}
	}
	aff, found, err := c.p.opts.Features.Affinities(ctx, c.req.GuestID)
	switch {
	case err != nil:
		return featureResult{rung: &Rung{StageFeatures, reasonOf(err)}}
	case !found:
		return featureResult{rung: &Rung{StageFeatures, "unknown_guest"}}
	}
	return featureResult{aff: aff}
}

// embeddings computes the query vector of every query source and the
// session embedding of every cart model a session or new_items source
// names, concurrently, under the embeddings budget. A model's session
// embedding is computed once per call: a new_items source reads the one
// its model's session source computes (from the same model run when the
// model blends, TopRows), and computes it only without one; and only
// while the model's new-items table may hold an item (startNewItems,
// which starts the table's build here, so that it overlaps the model run).
func (c *call) embeddings(ctx context.Context, rungs *[]Rung) {
	ectx, cancel := context.WithTimeout(ctx, c.sf.Budgets.Embeddings)
	defer cancel()
	var mu sync.Mutex // guards rungs, c.vectors, c.sessions and c.blended while the sources run
	flag := func(reason string) {
		mu.Lock()
		defer mu.Unlock()
		*rungs = append(*rungs, Rung{StageEmbeddings, reason})
	}
	// needSession names the models whose session embedding a new_items
	// source reads: those whose new-items table may hold an item (not
	// built yet, or not empty). The catalogue shipped with the default
	// repository has none, and asking the model for its session output on
	// every home call with a cart was work thrown away. started names
	// those whose embedding a goroutine computes. Both are used by this
	// goroutine only.
	needSession, started := map[string]bool{}, map[string]bool{}
	for _, name := range c.sf.newItemsModels {
		needSession[name] = c.startNewItems(c.models[name])
	}
	var wg sync.WaitGroup
	startSession := func(name string, m *model) {
		started[name] = true
		cart := m.cartRows
		wg.Go(func() {
			vec, err := m.cart.Session(ectx, m.v, cart)
			if err != nil {
				flag(reasonOf(err))
				return
			}
			mu.Lock()
			defer mu.Unlock()
			c.setSession(name, vec)
		})
	}
	for i, src := range c.sf.Sources {
		if src.Kind != SourceSession && src.Kind != SourceQuery && src.Kind != SourceNewItems {
			continue
		}
		m := c.models[src.Model]
		if m.err != nil {
			flag(reasonOf(m.err))
			continue
		}
		switch {
		case src.Kind == SourceQuery:
			if c.req.Query == "" {
				continue
			}
			if m.enc == nil || m.items == nil {
				flag("not_a_text_encoder")
				continue
			}
			wg.Go(func() {
				res, err := m.enc.Embed(ectx, m.v, []string{c.req.Query})
				if err != nil {
					flag(reasonOf(err))
					return
				}
				mu.Lock()
				defer mu.Unlock()
				c.vectors[i] = res[0].Vector
			})
		case len(c.req.Cart) == 0:
		case src.Kind == SourceSession && m.cart != nil && m.items != nil && m.cart.Blends():
			cart := m.cartRows
			if len(cart) == 0 {
				continue
			}
			withSession := needSession[src.Model] && !started[src.Model] && m.cart.SessionQueriesItems()
			started[src.Model] = started[src.Model] || withSession
			wg.Go(func() {
				hits, vec, err := c.blendedHits(ectx, m, cart, src.Budget, withSession)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					*rungs = append(*rungs, Rung{StageEmbeddings, reasonOf(err)})
					return
				}
				c.blended[i] = hits
				if vec != nil {
					c.setSession(src.Model, vec)
				}
			})
		case m.cart == nil || m.items == nil || !m.cart.SessionQueriesItems():
			flag("not_a_session_model")
		case src.Kind == SourceSession && len(m.cartRows) > 0 && !started[src.Model]:
			startSession(src.Model, m)
		}
	}
	// A new_items source whose model's session source did not compute the
	// embedding (the surface has none) computes it now, once per model;
	// the loop has flagged a model that cannot.
	for _, name := range c.sf.newItemsModels {
		m := c.models[name]
		if needSession[name] && !started[name] && len(m.cartRows) > 0 && m.cart != nil && m.cart.SessionQueriesItems() {
			startSession(name, m)
		}
	}
	wg.Wait()
}

// setSession records model name's session embedding, creating the map
// on first use; the caller holds the embeddings stage's mu.
func (c *call) setSession(name string, vec []float32) {
	if c.sessions == nil {
		c.sessions = map[string][]float32{}
	}
	c.sessions[name] = vec
}

// blendedHits is the session source of a cart model that serves the
// ensemble: its own top budget rows for the cart (as RecommendCart ranks
// them, docs/evaluation.md A11), skipping what skipID names, and, with
// withSession, the cart's session embedding from the same model run.
func (c *call) blendedHits(ctx context.Context, m *model, rows []int64, budget int, withSession bool) ([]scored, []float32, error) {
	items := m.items
	skip := func(r int) bool { return c.skipID(items.ID(r)) }
	top, vec, err := m.cart.TopRows(ctx, m.v, rows, budget, skip, withSession)
	if err != nil {
		return nil, nil, err
	}
	out := make([]scored, len(top))
	for i, h := range top {
		out[i] = scored{items.ID(h.Row), items.Name(h.Row), float64(h.Score)}
	}
	return out, vec, nil
}

// resolve looks the cart and the recent views up once per call, in every
// model's item table: each model keeps its rows (the session embedding,
// the searches' skip sets), the cart's ids are marked for the in-cart
// filter, and entries that no model knows are recorded. The cart used to
// be looked up three times a call (here, for the session embedding and
// for the session search's skip set).
func (c *call) resolve() {
	cart, views := c.req.Cart, c.req.RecentViews
	n := len(cart) + len(views)
	if n == 0 {
		return
	}
	known := make([]bool, n)
	// One backing array for every model's rows: appends within its
	// capacity never move it, so each model's slices stay valid.
	buf := make([]int64, 0, n*len(c.models))
	for _, m := range c.models {
		if m.items == nil {
			continue
		}
		start := len(buf)
		for i, e := range cart {
			if r, ok := lookup(m.items, e); ok {
				known[i] = true
				buf = append(buf, int64(r))
				c.inCart[m.items.ID(r)] = true
			}
		}
		m.cartRows = buf[start:len(buf):len(buf)]
		start = len(buf)
		for i, e := range views {
			if r, ok := lookup(m.items, e); ok {
				known[len(cart)+i] = true
				buf = append(buf, int64(r))
			}
		}
		m.viewRows = buf[start:len(buf):len(buf)]
	}
	c.cartKnown = known[:len(cart)]
	for i, k := range known {
		switch {
		case k:
		case i < len(cart):
			c.addUnknown(cart[i])
		default:
			c.addUnknown(views[i-len(cart)])
		}
	}
}

// dropUnknown takes e off resp.Unknown: the new_items source found it in
// its table.
func (c *call) dropUnknown(e string) {
	c.resp.Unknown = slices.DeleteFunc(c.resp.Unknown, func(u string) bool { return u == e })
}

func (c *call) addUnknown(e string) {
	for _, u := range c.resp.Unknown {
		if u == e {
			return
		}
	}
	c.resp.Unknown = append(c.resp.Unknown, e)
}

// lookup finds an item by catalogue id, then by name.
func lookup(items *Items, e string) (int, bool) {
	if r, ok := items.Row(e); ok {
		return r, true
	}
	return items.RowOfName(e)
}
