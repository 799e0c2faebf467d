package recommend

import (
	"context"
	"sync"
	"time"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/rerank"
)

// The pipeline's collaborators are one-method interfaces defined here, at
// the consumer; the guest, catalog, bandit and event packages and TextIndex
// implement them (directly or through a small adapter in cmd/aisle). A nil
// collaborator switches its part off, visibly: see Options.

// Models returns a ready model version; *repository.Manager is one. The
// caller releases the version.
type Models interface {
	Get(name, version string) (*repository.Version, error)
}

// Features returns a guest's affinities by item attribute and value
// (guest features). found is false for a guest the store does not know.
// It must honour ctx: the pipeline gives it the features budget.
type Features interface {
	Affinities(ctx context.Context, guestID string) (aff rerank.Affinities, found bool, err error)
}

// Catalog returns an item's attributes (category, price, margin,
// shipping_cost, stock, on_promotion, ...) by catalogue id. It must be safe
// for concurrent use and must not block: it is called per candidate.
type Catalog interface {
	ItemAttributes(id string) (map[string]string, bool)
}

// CatalogNumbers is optionally implemented by a Catalog that parsed its
// items' margin, shipping_cost and stock once, at load: the re-rank then
// uses them instead of parsing the attribute strings per candidate and
// call. nil numbers for a known item make the re-rank parse its
// attributes. Same rules as Catalog: safe for concurrent use, no blocking.
type CatalogNumbers interface {
	ItemNumbers(id string) (*rerank.Numbers, bool)
}

// CatalogItems is optionally implemented by a Catalog that can hand over
// the whole catalogue it serves (*catalog.Store does, and aisle serve's
// adapter): the new_items source reads every item's name, aisle and
// department from it. Catalog returns the catalogue being served, the one
// ItemAttributes answers from, never nil; same rules as Catalog: safe for
// concurrent use, no blocking. The catalogue is immutable; a reload
// returns another one.
type CatalogItems interface {
	Catalog() *catalog.Catalog
}

// Text scores the catalogue against a query's text for hybrid search:
// BM25 over the names and the category-intent posterior (TextIndex). It
// must honour ctx and not block: the query source calls it once per call.
type Text interface {
	Text(ctx context.Context, query string) (*TextScores, error)
}

// Bandit chooses a slate of k items among arms (item ids, best ranked
// first) and returns, for each slot in order, the index of the arm shown
// and the exact probability that the policy showed it there.
type Bandit interface {
	Slate(ctx context.Context, req SlateRequest) ([]Pick, error)
}

// SlateRequest is what the slate stage asks the bandit.
type SlateRequest struct {
	Surface string
	GuestID string
	// ImpressionID is the response's: it seeds a reproducible draw and is
	// what feedback events cite.
	ImpressionID string
	// Arms are item ids, best ranked first; Sources[i] is the candidate
	// source that proposed Arms[i] (a bandit over sources fills each slot
	// from the source it draws).
	Arms    []string
	Sources []string
	K       int
}

// Pick is one slot of a slate.
type Pick struct {
	// Arm indexes SlateRequest.Arms.
	Arm        int
	Propensity float64
	// Name is the bandit arm that filled the slot, what rewards credit;
	// "" means the item's source.
	Name string
}

// EventLog records impressions so that later feedback events (clicks,
// add-to-carts) can credit the slate shown, with its propensities.
type EventLog interface {
	LogImpression(ctx context.Context, imp Impression) error
}

// Impression is one answered Recommend call, as logged.
type Impression struct {
	ID        string
	At        time.Time
	Surface   string
	GuestID   string
	SessionID string
	Items     []ImpressionItem
	// Degraded lists the rungs taken, "stage/reason".
	Degraded []string
}

// ImpressionItem is one shown item.
type ImpressionItem struct {
	ID         string
	Position   int
	Source     string
	Propensity float64
	// Arm is the bandit arm credited for the slot: Pick.Name, else Source.
	Arm string
}

// MemoryEventLog is an in-memory EventLog that keeps the last Cap
// impressions: the tests' witness (aisle serve writes impressions to the
// event log).
type MemoryEventLog struct {
	Cap int

	mu   sync.Mutex // guards imps
	imps []Impression
}

// LogImpression implements EventLog.
func (l *MemoryEventLog) LogImpression(_ context.Context, imp Impression) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := max(l.Cap, 1); len(l.imps) >= c {
		l.imps = append(l.imps[:0], l.imps[len(l.imps)-c+1:]...)
	}
	l.imps = append(l.imps, imp)
	return nil
}

// Impressions returns a copy of the impressions kept.
func (l *MemoryEventLog) Impressions() []Impression {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Impression(nil), l.imps...)
}

// MemoryFeatures is an in-memory Features: guest id → affinities.
type MemoryFeatures map[string]rerank.Affinities

// Affinities implements Features.
func (m MemoryFeatures) Affinities(_ context.Context, guestID string) (rerank.Affinities, bool, error) {
	a, ok := m[guestID]
	return a, ok, nil
}

// MapCatalog is an in-memory Catalog: id → attributes.
type MapCatalog map[string]map[string]string

// ItemAttributes implements Catalog.
func (m MapCatalog) ItemAttributes(id string) (map[string]string, bool) {
	a, ok := m[id]
	return a, ok
}
