package recommend

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/coldstart"
)

// The new_items source (docs/evaluation.md A13): a retailer adds an item
// to the catalogue, the cart model has no vector for it until it is
// retrained, so no session or neighbours search can find it. The source
// gives it the vector coldstart's rule derives from the catalogue's names,
// aisles and departments and the model's item vectors, and scores it with
// the cart's session embedding, as the model scores a known item.

// newItems is the new_items source's table for one (catalogue, model
// version): the catalogue's items without a row in the version's item
// vectors that the rule reaches, in catalogue order, with their vectors.
// It is immutable.
type newItems struct {
	ids    []string
	names  []string
	byID   map[string]int
	byName map[string]int // catalog.NormName of the names, for carts naming a new item
	// index holds the new items' vectors (row r is ids[r]'s) and searches
	// them exactly, ties to the lower row: A13's order (coldstart's
	// package doc). nil when the table is empty.
	index *FlatIndex
}

// empty reports whether t has no new item; a nil table (a failed build)
// has none.
func (t *newItems) empty() bool { return t == nil || len(t.ids) == 0 }

// row finds a new item by catalogue id, then by name (as lookup does for
// known items).
func (t *newItems) row(e string) (int, bool) {
	if r, ok := t.byID[e]; ok {
		return r, true
	}
	r, ok := t.byName[catalog.NormName(e)]
	return r, ok
}

// newItemsEntry is the table of one catalogue for one Items, built once,
// in its own goroutine, started by the embeddings stage of the first call
// that needs it; the candidates stage reads it without waiting.
type newItemsEntry struct {
	cat  *catalog.Catalog
	done chan struct{} // closed once table and err are set, whatever the build did
	// table is nil when the build failed: a nil table has no new items.
	table *newItems
	err   error // the build's failure, returned to every call reading the entry
}

// ready returns the entry's table and error once the build is done; done
// is false while it runs. It never waits.
func (e *newItemsEntry) ready() (t *newItems, done bool, err error) {
	select {
	case <-e.done:
		return e.table, true, e.err
	default:
		return nil, false, nil
	}
}

// coldEntry returns the new-items entry of the current catalogue (cats)
// for these item vectors, starting its build on the first call after the
// version loads or the catalogue is swapped: the table lives with the
// model version (it is dropped with its Items) and is replaced when the
// catalogue changes. The build is a pass over the catalogue plus, when
// some items are new, an index of the known items by aisle and
// department and the rule for each new item:
// 3 µs for the default repository (169 items, none new), 119 µs with the 9
// new items of testdata/new_items.jsonl (BenchmarkBuildNewItems, a shared
// 2-core machine), more with a big catalogue. It runs in a goroutine
// (buildEntry) that the embeddings stage starts, so it overlaps the
// model run; no call waits for it (the candidates stage reads the entry
// with ready): waiting in the candidates stage spent the budget every
// source shares, and a slow first build timed out the sources after
// new_items. A failed build (log says why) leaves the entry with no table
// and an error that every call for this catalogue gets (the rung
// candidates/new_items_unavailable) until the catalogue or the version
// changes: a build that panicked on this catalogue would panic again.
//
// A call that read the catalogue just before it was swapped gets no entry
// (nil: no new items) rather than replacing the newer catalogue's entry
// with a rebuild of the old one: during a reload, calls holding either
// catalogue would otherwise evict each other's table, each eviction a
// build.
// started is true for the call that started the build.
func (it *Items) coldEntry(cats CatalogItems, log *slog.Logger, failures prometheus.Counter) (e *newItemsEntry, started bool) {
	cat := cats.Catalog()
	if e := it.cold.Load(); e != nil && e.cat == cat {
		return e, false
	}
	it.coldMu.Lock()
	defer it.coldMu.Unlock()
	switch e := it.cold.Load(); {
	case e != nil && e.cat == cat:
		return e, false
	case cats.Catalog() != cat: // re-read under coldMu: cat is no longer current
		return nil, false
	}
	e = &newItemsEntry{cat: cat, done: make(chan struct{})}
	it.cold.Store(e)
	it.coldBuilds.Add(1)
	go it.buildEntry(e, log, failures)
	return e, true
}

// errNewItemsBuild is what the calls reading a failed build get.
var errNewItemsBuild = errors.New("the new-items table could not be built")

// buildEntry builds e's table and closes e.done whatever happens: a build
// that fails or panics (a bug, or item vectors that do not match their
// table) is logged, counted in failures (the pipeline's
// aisle_recommend_new_items_build_failures_total), and leaves no table and
// errNewItemsBuild, instead of a done that never closes (a table never
// ready, and the source silent for this catalogue). A build superseded
// by a catalogue swap or by Items.Close (e no longer it.cold) stops within
// buildCheckEvery items and leaves no table and no error: only a call
// that read the old catalogue reads it, and gets no new items, as when it
// finds the newer entry in place. The goroutine is owned by the entry: it
// ends when the build does, a bounded pass over the catalogue and the
// item vectors that reads no context and waits on nothing.
func (it *Items) buildEntry(e *newItemsEntry, log *slog.Logger, failures prometheus.Counter) {
	defer close(e.done)
	defer func() {
		if p := recover(); p != nil {
			e.table, e.err = nil, errNewItemsBuild
			failures.Inc()
			log.Error("new_items: building the new-items table failed; the source contributes nothing for this catalogue and model version",
				"panic", p, "stack", string(debug.Stack()))
		}
	}()
	t, err := buildNewItemsUnless(e.cat, it, func() bool { return it.cold.Load() != e })
	if err != nil {
		e.err = errNewItemsBuild
		failures.Inc()
		log.Error("new_items: building the new-items table failed; the source contributes nothing for this catalogue and model version",
			"err", err)
		return
	}
	e.table = t
}

// buildCheckEvery is how many items a build passes between two checks
// that it is still wanted: a check is one atomic load, so its cost is
// nothing beside the rule for that many new items (a scan of their
// aisles' known items each).
const buildCheckEvery = 1024

// buildNewItemsUnless applies the cold-start rule to cat's items that have
// no row in it; it gives up (nil, nil) as soon as stop, asked every
// buildCheckEvery items, says the table is no longer wanted. The known
// items are it's rows in row order, with their catalogue data; a known
// item the catalogue lacks keeps its item-table name and no aisle or
// department (scripts/eval/coldstart_golden.py does the same).
func buildNewItemsUnless(cat *catalog.Catalog, it *Items, stop func() bool) (*newItems, error) {
	t := &newItems{byID: map[string]int{}, byName: map[string]int{}}
	dim := it.vectors.Dim
	var cands []coldstart.Item
	var prods []catalog.Product
	for i, p := range cat.All() {
		if i%buildCheckEvery == 0 && stop() {
			return nil, nil
		}
		if _, ok := it.Row(p.ID); !ok {
			cands = append(cands, coldstart.Item{Name: p.Name, Aisle: p.Aisle, Department: p.Department})
			prods = append(prods, p)
		}
	}
	if len(cands) == 0 {
		return t, nil
	}
	known := make([]coldstart.Item, it.Len())
	for r := range known {
		if p, ok := cat.Item(it.ID(r)); ok {
			known[r] = coldstart.Item{Name: p.Name, Aisle: p.Aisle, Department: p.Department}
		} else {
			known[r] = coldstart.Item{Name: it.Name(r)}
		}
	}
	// The rule is per item (coldstart.Vectors): in chunks, bit for bit
	// the same vectors, with a check between two.
	index := coldstart.NewKnown(known)
	vecs, ok := make([]float32, 0, len(cands)*dim), make([]bool, 0, len(cands))
	for lo := 0; lo < len(cands); lo += buildCheckEvery {
		if stop() {
			return nil, nil
		}
		v, o := coldstart.Vectors(index, it.vectors.Data, dim, cands[lo:min(lo+buildCheckEvery, len(cands))])
		vecs, ok = append(vecs, v...), append(ok, o...)
	}
	// data is the index's matrix, row-major: vecs compacted in place (row
	// j moves to row len(t.ids) <= j), not copied a second time.
	data := vecs[:0]
	for j, p := range prods {
		if !ok[j] {
			continue // unreachable: no vector, never proposed
		}
		r := len(t.ids)
		t.ids, t.names = append(t.ids, p.ID), append(t.names, p.Name)
		t.byID[p.ID] = r
		if n := catalog.NormName(p.Name); n != "" {
			if _, dup := t.byName[n]; !dup {
				t.byName[n] = r
			}
		}
		data = append(data, vecs[j*dim:(j+1)*dim]...)
	}
	if len(t.ids) == 0 {
		return t, nil
	}
	idx, err := NewFlatIndex(&catalog.Matrix{Rows: len(t.ids), Dim: dim, Data: data})
	if err != nil {
		return nil, err
	}
	t.index = idx.(*FlatIndex)
	return t, nil
}

// startNewItems is the embeddings stage's part of m's new_items source:
// it finds or starts the build of m's new-items table for the current
// catalogue (coldEntry), keeps the entry in m for the candidates stage,
// and reports whether the table may hold an item: it is still building,
// or it has one (the call that starts it says so whatever the build's
// speed: it cannot know yet). Only then does the stage compute the cart's
// session embedding for the source. Without a cart, a ready model that
// gives a session embedding over its items (the embeddings stage flags
// one that does not: not_a_session_model), or a Catalog implementing
// CatalogItems, the source has nothing to do: no build.
func (c *call) startNewItems(m *model) bool {
	ci, ok := c.p.opts.Catalog.(CatalogItems)
	if !ok || len(c.req.Cart) == 0 || m.err != nil || m.items == nil || m.cart == nil || !m.cart.SessionQueriesItems() {
		return false
	}
	e, started := m.items.coldEntry(ci, c.p.log, c.p.metrics.newItemsFailures)
	if e == nil {
		return false // the catalogue was swapped as it was read
	}
	m.cold = e
	t, done, _ := e.ready()
	return started || !done || !t.empty()
}

// newItemsReference is how many of the model's own best known items set
// the new_items source's scale: A13's list length (docs/evaluation.md;
// the evaluated list gives new items its last places among the top 20).
const newItemsReference = 20

// newItems is the new_items source: the src.Budget new items with the best
// dot product with the cart's session embedding (ties: catalogue order),
// skipping what skipID names. Their relevance is the score's place on the
// scale of the model's own top newItemsReference known items for the same
// session (one index search, skipping what the session source skips: the
// cart's items and what skipID names): src.Weight × (s − lo)/(hi − lo),
// clamped to [0, src.Weight], lo and hi the lowest and highest of those
// dot products. A new item is worth what a known item of the same score is
// worth; min–max within the source would give its best item the full
// weight whatever the cart (with one new item in the catalogue, every
// cart's top relevance), since the source has no scale of its own.
// Without a cart, new items, or a session embedding (the model is not
// ready or its call failed: the embeddings stage flagged it) it
// contributes nothing, and takes no rung of its own. Nor does it while
// the table the embeddings stage started (startNewItems) is still being
// built: the call does not wait for it (coldEntry says why), and the
// calls after the build use it; this is no degradation of the call, which
// is answered as it was before the catalogue grew. A table whose build
// failed gives every call with a cart the rung
// candidates/new_items_unavailable (the table is read before the session,
// which the embeddings stage no longer computes then). A pipeline whose
// Catalog does not implement CatalogItems (or has none) knows no item
// beyond the models' tables, so it has no new item either.
func (c *call) newItems(ctx context.Context, m *model, src Source) ([]scored, error) {
	if m.cold == nil {
		return nil, nil
	}
	t, done, err := m.cold.ready()
	if !done || err != nil || t.empty() {
		return nil, err
	}
	// A cart may name a new item (the model skipped it): it is in the cart
	// for the in-cart filter, like a known one, and known (not in
	// resp.Unknown). An entry a model resolved is not matched again: a
	// cart naming the known "milk" used to hide a new item also named
	// "milk". This comes before the session: a cart of new items only
	// has none (the model knows none of its items), and its entries were
	// reported unknown.
	for i, e := range c.req.Cart {
		if i < len(c.cartKnown) && c.cartKnown[i] {
			continue
		}
		if r, ok := t.row(e); ok {
			c.inCart[t.ids[r]] = true
			c.dropUnknown(e)
		}
	}
	q, ok := c.sessions[src.Model]
	if !ok || len(q) != t.index.m.Dim {
		return nil, nil
	}
	var allow Allow
	if c.skipsAny() {
		allow = func(r int) bool { return !c.skipID(t.ids[r]) }
	}
	top, err := t.index.Search(ctx, q, src.Budget, allow)
	if err != nil || len(top) == 0 {
		return nil, err
	}
	// The reference is what the session source proposes: without the
	// cart's own items (A13 excludes them too), whose dot products with
	// their own session are the highest and would inflate the scale.
	ref, err := m.items.Index().Search(ctx, q, newItemsReference, c.allow(m.items, m.cartSkip()))
	if err != nil {
		return nil, err
	}
	out := make([]scored, len(top))
	for i, h := range top {
		out[i] = scored{t.ids[h.Row], t.names[h.Row], relevanceOn(ref, h.Score, src.Weight)}
	}
	return out, nil
}

// relevanceOn places score on the scale of ref's scores, best first (as
// Index.Search returns them): w at or above the best, 0 at or below the
// worst, linear between (no ref: w).
func relevanceOn(ref []Hit, score float32, w float64) float64 {
	if len(ref) == 0 {
		return w
	}
	hi, lo := float64(ref[0].Score), float64(ref[len(ref)-1].Score)
	s := float64(score)
	switch {
	case s >= hi:
		return w
	case s <= lo:
		return 0
	}
	return w * (s - lo) / (hi - lo)
}
