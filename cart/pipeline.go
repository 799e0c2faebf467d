package cart

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/graphnn"
	"github.com/aisle-ai/aisle/repository"
)

// ExtensionName is the key under which a Recommender is attached to a
// version.
const ExtensionName = "cart-gnn"

// Defaults for requests that leave them out.
const (
	DefaultK = 10
)

// Errors callers map to a status.
var (
	// ErrInvalidCart reports a request that cannot be answered as asked.
	ErrInvalidCart = errors.New("invalid cart request")
	// ErrNotRecommender reports a model without cart-model parameters.
	ErrNotRecommender = errors.New("model is not a cart recommender")
)

// Recommender is the cart pipeline prepared for one model version.
type Recommender struct {
	items      *catalog.Table
	popular    []int // rows, most popular first
	maxCart    int
	excludeOwn bool
	scores     string // name of the scores output
	pool       sync.Pool
}

// scratch is one goroutine's graph-building state.
type scratch struct {
	b     graphnn.Builder
	batch graphnn.Batch
}

// Extension prepares Recommenders for versions whose config sets
// "pipeline: cart-gnn".
type Extension struct{}

// Prepare implements repository.Extension.
func (Extension) Prepare(v *repository.Version) (any, error) {
	if v.Config.Parameters["pipeline"] != ExtensionName {
		return nil, nil
	}
	return New(v.Dir, v.Config)
}

// New builds a Recommender from a model's resolved config; dir holds the
// item files.
func New(dir string, cfg *repository.Config) (*Recommender, error) {
	p := cfg.Parameters
	items, err := catalog.ReadTable(filepath.Join(dir, safeName(p["items"])+".tsv"))
	if err != nil {
		return nil, fmt.Errorf("item table: %w", err)
	}
	r := &Recommender{items: items, maxCart: 50, excludeOwn: p["exclude_cart_items"] != "false", scores: "scores"}
	if s := p["max_cart_items"]; s != "" {
		if r.maxCart, err = strconv.Atoi(s); err != nil || r.maxCart < 1 {
			return nil, fmt.Errorf("parameter max_cart_items %q must be a positive integer", s)
		}
	}
	if err := r.checkOutputs(cfg); err != nil {
		return nil, err
	}
	if name := p["popular"]; name != "" {
		if err := r.readPopular(filepath.Join(dir, safeName(name))); err != nil {
			return nil, err
		}
	}
	r.pool.New = func() any { return &scratch{b: graphnn.Builder{NumItems: len(items.Items), MaxItems: r.maxCart}} }
	return r, nil
}

func (r *Recommender) checkOutputs(cfg *repository.Config) error {
	for _, o := range cfg.Outputs {
		if o.Name == r.scores {
			if n := o.Dims[len(o.Dims)-1]; n != -1 && int(n) != len(r.items.Items) {
				return fmt.Errorf("output scores has %d items, item table %d", n, len(r.items.Items))
			}
			return nil
		}
	}
	return fmt.Errorf("model has no %q output", r.scores)
}

func (r *Recommender) readPopular(path string) error {
	t, err := catalog.ReadTable(path)
	if err != nil {
		return fmt.Errorf("popular items: %w", err)
	}
	for _, it := range t.Items {
		if row, ok := r.items.RowOfID(it.ID); ok {
			r.popular = append(r.popular, row)
		}
	}
	return nil
}

// safeName keeps parameter file names inside the model directory.
func safeName(s string) string {
	return filepath.Base(strings.TrimSpace(s))
}

// NumItems returns the catalogue size.
func (r *Recommender) NumItems() int { return len(r.items.Items) }
