package recommend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/cart"
	"github.com/aisle-ai/aisle/embedding"
	"github.com/aisle-ai/aisle/excerpt"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/rerank"
)

// Request limits: a request larger than this is refused, not truncated.
const (
	MaxCartItems  = 200
	MaxViews      = 200
	MaxQueryBytes = 1024
	MaxFilterIDs  = 1000
)

// Stage names, the "stage" label of the metrics and of Rung.
const (
	StageFeatures   = "features"
	StageEmbeddings = "embeddings"
	StageCandidates = "candidates"
	StageRerank     = "rerank"
	StageSlate      = "slate"
	StageImpression = "impression"
)

// Request is one Recommend call.
type Request struct {
	GuestID   string
	SessionID string
	// Cart and RecentViews name items by catalogue id or by name, oldest
	// first.
	Cart        []string
	RecentViews []string
	Query       string
	// Surface names a surface of the surfaces file.
	Surface string
	// K is the slate size; 0 means the surface's k.
	K       int
	Filters Filters
	// NoImpression answers without writing: the caller may not change
	// server state (an unauthenticated call), so the impression is not
	// logged, no bandit pull is counted, and the response carries no
	// impression id (rung impression/not_authorized).
	NoImpression bool
}

// Filters narrow one request.
type Filters struct {
	// ExcludeIDs are never returned.
	ExcludeIDs []string
	// ExcludeCategories are never returned (added to the surface's).
	ExcludeCategories []string
	// Categories, when set, restrict the answer to these categories.
	Categories []string
}

// Response is the answer: the slate and how it was made.
type Response struct {
	ImpressionID string
	Surface      string
	Items        []Item
	// Degraded lists every rung taken, in the order taken.
	Degraded []Rung
	// Unknown lists cart and recent-view entries no model knows; a cart
	// entry naming a new catalogue item that a new_items source's table
	// holds (newitems.go) is known.
	Unknown []string
	// Models are the versions used, "name:version".
	Models []string
}

// Item is one recommended item with its reasons.
type Item struct {
	ID, Name string
	// Source is the candidate source that proposed it (session, query,
	// neighbours, popular, new_items; "backfill" when added by the
	// back-fill rung).
	Source     string
	Components rerank.Components
	// Propensity is the probability the slate policy showed this item in
	// this position (1 for the deterministic slate).
	Propensity float64
}

// Rung is one degradation taken.
type Rung struct{ Stage, Reason string }

func (r Rung) String() string { return r.Stage + "/" + r.Reason }

// Options are the pipeline's collaborators; each may be nil.
type Options struct {
	// Features nil: every answer is non-personal (rung features/not_configured).
	Features Features
	// Catalog nil: attributes come from the models' item tables.
	Catalog Catalog
	// Text nil: the query source is the encoder's item index alone (no
	// hybrid search).
	Text Text
	// Bandit nil: the slate is the top k as ranked, propensity 1.
	Bandit Bandit
	// Events nil: impressions are not logged.
	Events     EventLog
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Pipeline answers Recommend calls. It is safe for concurrent use.
type Pipeline struct {
	models   Models
	surfaces *SurfaceStore
	opts     Options
	metrics  *metrics
	log      *slog.Logger

	snapMu    sync.Mutex // guards snapshots and snapshotBuilds
	snapshots map[string]modelSnapshots
	// snapshotBuilds counts the popularity snapshots built, for tests.
	snapshotBuilds int
	attrsMu        sync.Mutex  // guards attrs.byKey and attrs.order; an entry builds under its own Once
	attrs          mergedCache // merges of item-table attributes by model versions
}

// New returns a pipeline over models and the surfaces in store.
func New(models Models, store *SurfaceStore, opts Options) *Pipeline {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Pipeline{models: models, surfaces: store, opts: opts, metrics: newMetrics(opts.Registerer),
		log: log, snapshots: map[string]modelSnapshots{}}
}

// Recommend runs the surface's pipeline for req within ctx's deadline.
func (p *Pipeline) Recommend(ctx context.Context, req Request) (*Response, error) {
	start := time.Now()
	all, sf, k, err := p.validate(req)
	if err != nil {
		return nil, err
	}
	c := p.newCall(req, sf, k)
	defer c.release()
	c.acquire(all.AttributeModels)
	if err := c.run(ctx); err != nil {
		return nil, err
	}
	p.metrics.observe(req.Surface, "total", start)
	return c.resp, nil
}

func (p *Pipeline) validate(req Request) (*Surfaces, *Surface, int, error) {
	all := p.surfaces.Get()
	if all == nil {
		return nil, nil, 0, fmt.Errorf("%w: %s (the model repository has no %s)", ErrUnknownSurface, excerpt.Quote(req.Surface), SurfacesFile)
	}
	sf, ok := all.Surfaces[req.Surface]
	if !ok {
		return nil, nil, 0, fmt.Errorf("%w: %s (surfaces: %v)", ErrUnknownSurface, excerpt.Quote(req.Surface), slices.Sorted(maps.Keys(all.Surfaces)))
	}
	k := req.K
	if k == 0 {
		k = sf.K
	}
	switch {
	case k < 0 || k > sf.MaxK:
		return nil, nil, 0, fmt.Errorf("%w: k %d must be in [0, %d] on surface %s", ErrInvalidRequest, req.K, sf.MaxK, req.Surface)
	case len(req.Cart) > MaxCartItems:
		return nil, nil, 0, fmt.Errorf("%w: %d cart items; at most %d", ErrInvalidRequest, len(req.Cart), MaxCartItems)
	case len(req.RecentViews) > MaxViews:
		return nil, nil, 0, fmt.Errorf("%w: %d recent views; at most %d", ErrInvalidRequest, len(req.RecentViews), MaxViews)
	case len(req.Query) > MaxQueryBytes:
		return nil, nil, 0, fmt.Errorf("%w: query of %d bytes; at most %d", ErrInvalidRequest, len(req.Query), MaxQueryBytes)
	case !utf8.ValidString(req.Query):
		return nil, nil, 0, fmt.Errorf("%w: query is not valid UTF-8", ErrInvalidRequest)
	case len(req.Filters.ExcludeIDs)+len(req.Filters.ExcludeCategories)+len(req.Filters.Categories) > MaxFilterIDs:
		return nil, nil, 0, fmt.Errorf("%w: more than %d filter values", ErrInvalidRequest, MaxFilterIDs)
	}
	return all, sf, k, nil
}

// model is one model version a call holds, with the pipelines it uses.
type model struct {
	v     *repository.Version
	items *Items
	cart  *cart.Recommender
	enc   *embedding.Encoder
	err   error
	// cartRows and viewRows are the request's cart and recent views in
	// items, in request order, unknown entries left out (call.resolve).
	cartRows, viewRows []int64
	// cold is the new-items entry the embeddings stage found or started
	// for a new_items source on this model (startNewItems), read by the
	// candidates stage; nil when there is none.
	cold *newItemsEntry
}

// acquire gets each model the surface names once, and the attribute
// models; a model that is not ready keeps its error, and its sources
// degrade.
func (c *call) acquire(attributeModels []string) {
	names := make([]string, 0, len(c.sf.Sources)+len(attributeModels))
	for _, src := range c.sf.Sources {
		names = append(names, src.Model)
	}
	for _, name := range append(names, attributeModels...) {
		if _, ok := c.models[name]; ok {
			continue
		}
		m := &model{}
		m.v, m.err = c.p.models.Get(name, "")
		if m.err == nil {
			m.items, _ = repository.PipelineOf[*Items](m.v)
			m.cart, _ = repository.PipelineOf[*cart.Recommender](m.v)
			m.enc, _ = repository.PipelineOf[*embedding.Encoder](m.v)
			c.resp.Models = append(c.resp.Models, fmt.Sprintf("%s:%d", m.v.Name, m.v.Number))
		}
		c.models[name] = m
	}
}

func (c *call) release() {
	for _, m := range c.models {
		if m.v != nil {
			m.v.Release()
		}
	}
}

// degrade records a rung in the response and the metric.
func (c *call) degrade(stage, reason string) {
	for _, r := range c.resp.Degraded {
		if r.Stage == stage && r.Reason == reason {
			return
		}
	}
	c.resp.Degraded = append(c.resp.Degraded, Rung{stage, reason})
	c.p.metrics.degraded.WithLabelValues(stage, reason).Inc()
}

// reasonOf names a stage failure: its own budget or the request's
// deadline ran out, or the collaborator failed.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, repository.ErrNotReady), errors.Is(err, repository.ErrModelNotFound):
		return "model_not_ready"
	}
	return "unavailable"
}

func newImpressionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}
