package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/filestamp"
)

// DefaultFile is the catalogue's file name at the root of a model
// repository.
const DefaultFile = "catalog.jsonl"

// DefaultInterval is how often Run polls the file. A catalogue changes on a
// merchandiser's schedule (minutes to hours); 5 s costs one stat per poll.
const DefaultInterval = 5 * time.Second

// StoreOptions configure a Store.
type StoreOptions struct {
	// Path is the catalogue file; required.
	Path string
	// Interval between polls of the file; DefaultInterval when zero.
	Interval time.Duration
	// Logger receives reloads and refused files; slog.Default() when nil.
	Logger *slog.Logger
	// Registerer receives the store's metrics; a private registry when nil.
	Registerer prometheus.Registerer
}

// Store serves the current catalogue and swaps in a new one when the file
// changes (package doc, "Hot reload"). All methods are safe for concurrent
// use; readers never block.
type Store struct {
	opts    StoreOptions
	log     *slog.Logger
	cur     atomic.Pointer[Catalog]
	items   prometheus.Gauge
	reloads *prometheus.CounterVec

	mu      sync.Mutex      // guards the poll state below (Run and Check)
	loaded  filestamp.Stamp // stamp of the file cur came from
	seen    filestamp.Stamp // stamp at the previous poll
	badHash string          // hash of the last refused file, not re-parsed
	lastErr error           // why the last changed file was refused; nil after a good load
}

// Open loads the catalogue at opts.Path; a missing or invalid file is an
// error. Call Run to follow changes.
func Open(opts StoreOptions) (*Store, error) {
	if opts.Path == "" {
		return nil, fmt.Errorf("catalogue store: no path")
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	s := newStore(opts)
	st, _ := filestamp.Of(opts.Path)
	c, err := Load(opts.Path)
	if err != nil {
		return nil, err
	}
	s.swap(c, st)
	return s, nil
}

// NewStatic returns a store that always serves c; Run only waits for its
// context. For tests and for serving without a catalogue file.
func NewStatic(c *Catalog) *Store {
	s := newStore(StoreOptions{})
	s.swap(c, filestamp.Stamp{})
	return s
}

func newStore(opts StoreOptions) *Store {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	s := &Store{
		opts: opts,
		log:  opts.Logger,
		items: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aisle_catalog_items", Help: "Items in the catalogue being served.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_catalog_reloads_total", Help: "Changed catalogue files loaded (ok) or refused (error).",
		}, []string{"result"}),
	}
	opts.Registerer.MustRegister(s.items, s.reloads)
	return s
}

func (s *Store) swap(c *Catalog, st filestamp.Stamp) {
	s.cur.Store(c)
	s.items.Set(float64(c.Len()))
	s.loaded, s.seen = st, st
}

// Catalog returns the catalogue being served; hold on to it for a
// consistent view across several lookups.
func (s *Store) Catalog() *Catalog { return s.cur.Load() }

// Item returns the item with this id from the current catalogue.
func (s *Store) Item(id string) (Product, bool) { return s.cur.Load().Item(id) }

// ItemAttributes returns a fresh map of the item's attributes (package doc).
func (s *Store) ItemAttributes(id string) (map[string]string, bool) {
	return s.cur.Load().ItemAttributes(id)
}

// Version returns the current catalogue's header version and content hash.
func (s *Store) Version() (version, hash string) {
	c := s.cur.Load()
	return c.Version, c.Hash
}

// LastError returns why the most recent changed file was refused, or nil
// when the file being served is the newest one seen.
func (s *Store) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// Run polls the file until ctx is done, then returns nil. It is the only
// goroutine the store needs; serve starts it and waits for it.
func (s *Store) Run(ctx context.Context) error {
	if s.opts.Path == "" {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.Check()
		}
	}
}

// Check is one poll: it loads the file if it changed and then held still
// since the previous poll. It reports whether a new catalogue was swapped
// in. Run calls it; tests call it to avoid waiting on a ticker.
func (s *Store) Check() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := filestamp.Of(s.opts.Path)
	if err != nil || st == s.loaded {
		s.seen = s.loaded
		return false
	}
	if st != s.seen {
		s.seen = st // changed since the last poll: may still be being written
		return false
	}
	data, err := os.ReadFile(s.opts.Path)
	if err != nil || hashOf(data) == s.badHash {
		return false // unreadable, or the bytes already refused (read, not re-parsed)
	}
	c, err := Parse(data)
	if err != nil {
		s.badHash = hashOf(data)
		s.lastErr = fmt.Errorf("%s: %w", s.opts.Path, err)
		s.reloads.WithLabelValues("error").Inc()
		s.log.Error("catalogue refused; the previous one keeps serving",
			"path", s.opts.Path, "serving", s.cur.Load().Label(), "err", err)
		return false
	}
	old := s.cur.Load()
	s.swap(c, st)
	s.lastErr, s.badHash = nil, ""
	if c.Hash == old.Hash {
		return false // touched, not changed
	}
	s.reloads.WithLabelValues("ok").Inc()
	s.log.Info("catalogue reloaded", "path", s.opts.Path, "version", c.Label(), "items", c.Len(), "previous", old.Label())
	return true
}
