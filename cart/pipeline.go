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

// ExtensionName is the value of parameters.pipeline that selects the cart
// pipeline.
const ExtensionName = "cart-gnn"

// SessionOutput is the output holding the session embedding, the query
// vector for an item index over items.f32 when scores are "dot".
const SessionOutput = "session"

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
	scores     string    // name of the scores output
	logProb    bool      // parameters.scores: log_prob; the session is then no query for items.f32
	dim        int       // session embedding size, 0 when the model has no session output
	ens        *ensemble // the A11 rank blend (ensemble_* parameters); nil: the model's scores alone
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

// Parameters implements repository.Extension: the keys New reads.
func (Extension) Parameters() []string {
	return append([]string{"items", "popular", "max_cart_items", "exclude_cart_items", "embedding_dim", "num_items", "scores"},
		ensembleParams...)
}

// Prepare implements repository.Extension.
func (Extension) Prepare(v *repository.Version) (repository.Pipeline, error) {
	if v.Config.Parameters["pipeline"] != ExtensionName {
		return nil, nil
	}
	r, err := New(v.Dir, v.Config)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Close implements repository.Pipeline; a Recommender holds no resources.
func (r *Recommender) Close() error { return nil }

// New builds a Recommender from a model's resolved config; dir holds the
// item files.
func New(dir string, cfg *repository.Config) (*Recommender, error) {
	p := cfg.Parameters
	path, err := repository.InDir(dir, safeName(p["items"])+".tsv")
	if err != nil {
		return nil, fmt.Errorf("item table: %w", err)
	}
	items, err := catalog.ReadTable(path)
	if err != nil {
		return nil, fmt.Errorf("item table: %w", err)
	}
	r := &Recommender{items: items, maxCart: 50, excludeOwn: p["exclude_cart_items"] != "false", scores: "scores"}
	if s := p["max_cart_items"]; s != "" {
		if r.maxCart, err = strconv.Atoi(s); err != nil || r.maxCart < 1 {
			return nil, fmt.Errorf("parameter max_cart_items %q must be a positive integer", s)
		}
	}
	if err := r.readScores(p); err != nil {
		return nil, err
	}
	if err := r.checkOutputs(cfg, p); err != nil {
		return nil, err
	}
	if r.ens, err = readEnsemble(dir, items, p); err != nil {
		return nil, err
	}
	if name := p["popular"]; name != "" {
		path, err := repository.InDir(dir, safeName(name))
		if err != nil {
			return nil, fmt.Errorf("popular items: %w", err)
		}
		if err := r.readPopular(path); err != nil {
			return nil, err
		}
	}
	r.pool.New = func() any { return &scratch{b: graphnn.Builder{NumItems: len(items.Items), MaxItems: r.maxCart}} }
	return r, nil
}

// readScores reads parameters.scores: "dot" (scores = session · items.f32,
// the default) or "log_prob" (the repeat-explore mixture, whose scores no
// dot product over items.f32 reproduces).
func (r *Recommender) readScores(p map[string]string) error {
	switch p["scores"] {
	case "", "dot":
	case "log_prob":
		r.logProb = true
	default:
		return fmt.Errorf("parameter scores %q: want dot or log_prob", p["scores"])
	}
	return nil
}

// checkOutputs checks the scores output against the item table and the
// declared num_items, and the session output against embedding_dim.
func (r *Recommender) checkOutputs(cfg *repository.Config, p map[string]string) error {
	n := len(r.items.Items)
	if err := declared(p, "num_items", n, "the item table's items"); err != nil {
		return err
	}
	found := false
	for _, o := range cfg.Outputs {
		// A 0-d config output (a scalar, or one value per batch row) has no
		// last dimension: no item scores, no session vector.
		last := 0
		if len(o.Dims) > 0 {
			last = int(o.Dims[len(o.Dims)-1])
		}
		switch o.Name {
		case r.scores:
			found = true
			if len(o.Dims) == 0 {
				return fmt.Errorf("output %s has no item dimension", r.scores)
			}
			if last != -1 && last != n {
				return fmt.Errorf("output scores has %d items, item table %d", last, n)
			}
		case SessionOutput:
			r.dim = max(last, 0)
			if r.dim > 0 {
				if err := declared(p, "embedding_dim", r.dim, "the session output's size"); err != nil {
					return err
				}
			}
		}
	}
	if !found {
		return fmt.Errorf("model has no %q output", r.scores)
	}
	return nil
}

// declared checks an optional integer parameter against the value the
// model files imply, so a config copied from another model fails loudly.
func declared(p map[string]string, key string, actual int, what string) error {
	s, ok := p[key]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("parameter %s %q must be an integer", key, s)
	}
	if n != actual {
		return fmt.Errorf("parameter %s is %d but %s is %d", key, n, what, actual)
	}
	return nil
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

// SessionDim returns the size of the session embedding output, 0 when the
// model has none.
func (r *Recommender) SessionDim() int { return r.dim }

// SessionQueriesItems reports whether the session embedding is a query for
// an inner-product index over items.f32: true when scores are "dot".
func (r *Recommender) SessionQueriesItems() bool { return r.dim > 0 && !r.logProb }
