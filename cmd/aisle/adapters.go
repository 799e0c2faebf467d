package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aisle-ai/aisle/ann"
	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/rerank"
	"github.com/aisle-ai/aisle/server"
)

// The adapters below plug aisle's components into the Recommend
// pipeline's one-method interfaces (recommend/deps.go, recommend/index.go).
// Each is a thin translation: no policy lives here.

// annIndex is an ann.Index as a recommend.Index. The metric is the dot
// product, the score the models were trained with and FlatIndex's, so the
// graph and the exact stand-in rank alike.
type annIndex struct{ ix *ann.Index }

// newANNIndex is the recommend.NewIndex of serve: the ann package's index
// (exact below ann.DefaultFlatBelow items, HNSW above), built with the
// model version that ships the vectors and dropped with it.
func newANNIndex(m *catalog.Matrix) (recommend.Index, error) {
	if m == nil {
		return nil, fmt.Errorf("ann index: no matrix")
	}
	ix, err := ann.Build(context.Background(), m.Data, m.Dim, ann.Config{Metric: ann.Dot})
	if err != nil {
		return nil, err
	}
	return annIndex{ix}, nil
}

// Search implements recommend.Index.
func (a annIndex) Search(ctx context.Context, q []float32, k int, allow recommend.Allow) ([]recommend.Hit, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if k <= 0 {
		return nil, nil
	}
	res, err := a.ix.SearchContext(ctx, ann.Query{Vector: q, K: k, Allow: allow})
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, err // the call's deadline or cancellation, mid-walk
	case err != nil:
		// Every other ann error after Build is bad input (a wrong-sized query).
		return nil, fmt.Errorf("%w: %v", recommend.ErrInvalidRequest, err)
	}
	hits := make([]recommend.Hit, len(res))
	for i, r := range res {
		hits[i] = recommend.Hit{Row: r.Row, Score: r.Score}
	}
	return hits, nil
}

// catalogView is what the pipeline reads of one loaded catalogue: each
// item's attributes with the economics as strings (built once per catalogue,
// since ItemAttributes is called per candidate and must not allocate) and
// the text half of hybrid search (BM25 over the names, the category-intent
// classifier fitted on names and aisles, each name's category posterior:
// under a second for 50,000 items, a millisecond for the default 169).
type catalogView struct {
	cat   *catalog.Catalog
	attrs map[string]map[string]string
	// nums are each item's margin, shipping_cost and stock as the
	// catalogue parsed them at load, so the re-rank does not parse the
	// strings of attrs per candidate and call.
	nums map[string]*rerank.Numbers
	text *recommend.TextIndex
}

func newCatalogView(c *catalog.Catalog) (*catalogView, error) {
	v := &catalogView{cat: c, attrs: make(map[string]map[string]string, c.Len()), nums: make(map[string]*rerank.Numbers, c.Len())}
	ids := make([]string, 0, c.Len())
	names := make([]string, 0, c.Len())
	aisles := make([]string, 0, c.Len())
	for _, p := range c.All() {
		a := p.Attributes()
		a["price"] = strconv.FormatFloat(p.Price, 'g', -1, 64)
		a["margin"] = strconv.FormatFloat(p.Margin, 'g', -1, 64)
		a["shipping_cost"] = strconv.FormatFloat(p.ShippingCost, 'g', -1, 64)
		a["stock"] = strconv.FormatInt(p.Stock, 10)
		v.attrs[p.ID] = a
		v.nums[p.ID] = &rerank.Numbers{Margin: p.Margin, ShippingCost: p.ShippingCost, Stock: float64(p.Stock), HasStock: true}
		ids, names, aisles = append(ids, p.ID), append(names, p.Name), append(aisles, p.Aisle)
	}
	ix, err := recommend.NewTextIndex(ids, names, aisles)
	if err != nil {
		return nil, err
	}
	v.text = ix
	return v, nil
}

// catalogAdapter serves the catalogue store to the pipeline (Catalog and
// Lexical), to guest aggregation (guest.ItemAttributes) and to event
// validation (event.Catalog). It follows the store's hot reloads: the view
// is rebuilt on the first read after the store swaps catalogues (about a
// millisecond for the default repository's 169 items, under a second for
// 50,000), by one reader while the others that need it wait for it: every
// reader racing on a swap used to build its own.
type catalogAdapter struct {
	store *catalog.Store
	view  atomic.Pointer[catalogView]
	// rebuild is held by the reader building the view of a new catalogue;
	// it guards no field (view is atomic).
	rebuild sync.Mutex
	// rebuilds counts the views built after the first, for tests.
	rebuilds atomic.Int64
}

func newCatalogAdapter(s *catalog.Store) (*catalogAdapter, error) {
	a := &catalogAdapter{store: s}
	v, err := newCatalogView(s.Catalog())
	if err != nil {
		return nil, err
	}
	a.view.Store(v)
	return a, nil
}

// current returns the view of the store's current catalogue.
func (a *catalogAdapter) current() *catalogView {
	c := a.store.Catalog()
	v := a.view.Load()
	if v.cat == c {
		return v
	}
	a.rebuild.Lock()
	defer a.rebuild.Unlock()
	// Read the catalogue again under the lock: a reader that waited here
	// with an older one must not replace a newer view with it.
	c = a.store.Catalog()
	if v = a.view.Load(); v.cat == c {
		return v // built while this reader waited
	}
	a.rebuilds.Add(1)
	nv, err := newCatalogView(c)
	if err != nil {
		// NewTextIndex fails only on bm25 parameters (the defaults) or
		// slices of different lengths (built together above).
		return v
	}
	a.view.Store(nv)
	return nv
}

// ItemAttributes implements recommend.Catalog: the catalogue attributes
// plus price, margin, shipping_cost and stock. The map is shared and
// read-only. It also serves guest.ItemAttributes (guest features fold over
// the attributes of guest.Attributes and ignore the others).
func (a *catalogAdapter) ItemAttributes(id string) (map[string]string, bool) {
	m, ok := a.current().attrs[id]
	return m, ok
}

var _ recommend.CatalogNumbers = (*catalogAdapter)(nil)

// ItemNumbers implements recommend.CatalogNumbers.
func (a *catalogAdapter) ItemNumbers(id string) (*rerank.Numbers, bool) {
	n, ok := a.current().nums[id]
	return n, ok
}

var _ recommend.CatalogItems = (*catalogAdapter)(nil)

// Catalog implements recommend.CatalogItems: the catalogue the attributes
// come from, for the new_items source.
func (a *catalogAdapter) Catalog() *catalog.Catalog { return a.current().cat }

// Known implements event.Catalog: events may name catalogue items only.
func (a *catalogAdapter) Known(id string) bool {
	_, ok := a.current().attrs[id]
	return ok
}

// text is the current catalogue's TextIndex as a recommend.Text.
type text struct{ cat *catalogAdapter }

// Text implements recommend.Text.
func (t text) Text(ctx context.Context, query string) (*recommend.TextScores, error) {
	return t.cat.current().text.Text(ctx, query)
}

// guestFeatures is the ranking path's guest.Reader as recommend.Features.
type guestFeatures struct{ r *guest.Reader }

// Affinities implements recommend.Features. Guest scores are decayed
// signal weights with no fixed scale (a guest with a long history has
// large ones), while the re-ranker adds the affinity term to relevance in
// [0, 1]; so each attribute's scores are divided by that attribute's best,
// and by the number of attributes, keeping the sum over an item's
// attributes in [0, 1]. A late store comes back as a deadline error and a
// failed one as unavailable, the pipeline's rungs features/timeout and
// features/unavailable.
func (g guestFeatures) Affinities(ctx context.Context, guestID string) (rerank.Affinities, bool, error) {
	f, err := g.r.Features(ctx, guestID)
	if err != nil {
		return nil, false, featureErr(f, err)
	}
	if !f.Found {
		return nil, false, nil
	}
	return scaleAffinities(f.Affinities), true, nil
}

// featureErr maps a failed read to the pipeline's reasons: the reader's
// own timeout is a deadline.
func featureErr(f guest.Features, err error) error {
	if f.Degraded == "timeout" {
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// scaleAffinities divides each attribute's scores by its best and by the
// number of attributes (Affinities' comment).
func scaleAffinities(affs []guest.Affinity) rerank.Affinities {
	best := map[string]float64{}
	for _, a := range affs {
		best[a.Attribute] = max(best[a.Attribute], a.Score)
	}
	aff := rerank.Affinities{}
	for _, a := range affs {
		if a.Score <= 0 || best[a.Attribute] <= 0 {
			continue
		}
		if aff[a.Attribute] == nil {
			aff[a.Attribute] = map[string]float64{}
		}
		aff[a.Attribute][a.Value] = a.Score / best[a.Attribute] / float64(len(best))
	}
	return aff
}

// impressionLog writes each Recommend answer to the event log as one
// IMPRESSION event per slot, so that feedback citing the impression id and
// slot can credit it: item_ids = [the item], impression_id, slot, surface,
// session, and attributes {arm: the bandit arm credited (the item's source
// when no bandit chose), propensity: the slot's exact probability,
// source: the candidate source}. Event ids are "<impression id>-<slot>",
// so a retried write is deduplicated by the log. An anonymous answer (no
// guest id) is logged under the guest id "session:<session id>", so every
// decision made for a session is in the log with its propensity and the
// session's own feedback (sent under that guest id) can credit it; an
// answer with neither guest nor session id cannot be cited by any event
// and is not logged (recommend.ErrNotLogged: it gets no impression id). When the bandit chose the slate, the events the
// log took go to observer (the bandit join) as the Events service's
// accepted events do: without it feedback citing Recommend's own
// impressions found no pending impression and the bandit never learnt.
type impressionLog struct {
	log      event.Log
	bandits  *bandit.Bandits
	observer server.EventObserver
}

// anonymousGuestPrefix names the guest an anonymous session's impressions
// are logged under.
const anonymousGuestPrefix = "session:"

// LogImpression implements recommend.EventLog.
func (l impressionLog) LogImpression(ctx context.Context, imp recommend.Impression) error {
	if imp.GuestID == "" && imp.SessionID != "" {
		imp.GuestID = anonymousGuestPrefix + imp.SessionID
	}
	if imp.GuestID == "" || len(imp.Items) == 0 {
		return recommend.ErrNotLogged
	}
	evs := make([]event.Event, len(imp.Items))
	for i, it := range imp.Items {
		evs[i] = event.Event{
			ID: imp.ID + "-" + strconv.Itoa(it.Position), GuestID: imp.GuestID, SessionID: imp.SessionID,
			Type: event.TypeImpression, ItemIDs: []string{it.ID}, Time: imp.At, Surface: imp.Surface,
			ImpressionID: imp.ID, Slot: int32(it.Position),
			Attributes: map[string]string{
				"arm":        it.Arm,
				"propensity": strconv.FormatFloat(it.Propensity, 'g', -1, 64),
				"source":     it.Source,
			},
		}
	}
	errs := l.log.Append(ctx, evs)
	if l.observer != nil && l.bandits != nil && l.banditSlate(imp) {
		accepted := make([]event.Event, 0, len(evs))
		for i, err := range errs {
			if err == nil {
				accepted = append(accepted, evs[i])
			}
		}
		if len(accepted) > 0 {
			l.observer.Accepted(ctx, accepted)
		}
	}
	return errors.Join(errs...)
}

// banditSlate reports whether the bandit chose imp's slate: the surface
// is a bandit's and its decision did not fail (rung slate/bandit_<reason>,
// where the slate is the ranker's top k at propensity 1).
func (l impressionLog) banditSlate(imp recommend.Impression) bool {
	if _, err := l.bandits.Config(imp.Surface); err != nil {
		return false
	}
	for _, r := range imp.Degraded {
		if strings.HasPrefix(r, recommend.StageSlate+"/bandit_") {
			return false
		}
	}
	return true
}

// sourceBandit is the bandit package as recommend.Bandit. Its arms are
// candidate sources (session, neighbours, query, popular, backfill): for
// each slot the bandit draws a source, and the slot shows that source's
// best-ranked item not yet shown, with the slot's propensity and the
// source as the arm credited. When the drawn source has no item left the
// slot takes the best-ranked remaining item, still credited to the drawn
// arm with its propensity (the policy's choice, which is what off-policy
// evaluation replays). A surface the bandit config does not name is not a
// bandit surface: its slate is the top k as ranked, propensity 1.
type sourceBandit struct{ b *bandit.Bandits }

// Slate implements recommend.Bandit.
func (s sourceBandit) Slate(ctx context.Context, req recommend.SlateRequest) ([]recommend.Pick, error) {
	picks := make([]recommend.Pick, 0, req.K)
	if _, err := s.b.Config(req.Surface); errors.Is(err, bandit.ErrUnknownSurface) {
		for i := range min(req.K, len(req.Arms)) {
			picks = append(picks, recommend.Pick{Arm: i, Propensity: 1})
		}
		return picks, nil
	}
	d, err := s.b.Decide(ctx, bandit.Request{Surface: req.Surface, Guest: req.GuestID,
		ImpressionID: req.ImpressionID, Slots: req.K})
	if err != nil {
		return nil, err
	}
	used := make([]bool, len(req.Arms))
	for _, slot := range d.Slots {
		pick := -1
		for i := range req.Arms {
			if !used[i] && i < len(req.Sources) && req.Sources[i] == slot.Arm {
				pick = i
				break
			}
		}
		for i := 0; pick < 0 && i < len(req.Arms); i++ {
			if !used[i] {
				pick = i
			}
		}
		if pick < 0 {
			break
		}
		used[pick] = true
		picks = append(picks, recommend.Pick{Arm: pick, Propensity: slot.Propensity, Name: slot.Arm})
	}
	return picks, nil
}
