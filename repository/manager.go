package repository

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/excerpt"
	"github.com/aisle-ai/aisle/filestamp"
	"github.com/aisle-ai/aisle/inference"
)

// Extension prepares a model's pre- or post-processing (a tokenizer, an
// item table, an item index) when a version loads.
//
// Prepare returns a nil Pipeline when the version's config does not use the
// extension; an error refuses the version. The Pipeline is owned by the
// version: it is closed when the version is unloaded, after its last
// request, and callers reach it with PipelineOf while they hold the version.
//
// Parameters lists the config.yaml "parameters" keys the extension reads.
// A version whose parameters hold a key that no registered extension reads
// is refused, so a misspelt or stale key fails the load like any other
// unknown config key.
type Extension interface {
	Parameters() []string
	Prepare(v *Version) (Pipeline, error)
}

// Pipeline is the state one Extension prepared for one version. Close
// releases it; the repository calls it once, when the version unloads.
type Pipeline interface {
	Close() error
}

// Options configure a Manager.
type Options struct {
	// Root is the repository directory.
	Root string
	// Session holds the default runtime options; a model's config may
	// override them.
	Session inference.SessionOptions
	// DrainTimeout bounds how long an unloaded version waits for its
	// requests.
	DrainTimeout time.Duration
	// Extensions by name, consulted for every loaded version.
	Extensions map[string]Extension
	// Runner, if set, wraps each instance's session before the batching
	// scheduler gets it: instrumentation, or a test's model that blocks.
	// Warm-up and the load probe run the session itself.
	Runner     func(*inference.Session) batching.Runner
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Manager owns every loaded model version. It is safe for concurrent use.
type Manager struct {
	opts         Options
	log          *slog.Logger
	metrics      *metrics
	batchMetrics *batching.Metrics

	syncMu sync.Mutex // serialises reconciles (poller and repository API)

	mu     sync.RWMutex // guards models
	models map[string]*modelState
}

// modelState is the manager's view of one model directory.
type modelState struct {
	name      string
	cfg       *Config
	cfgStamp  filestamp.Stamp
	cfgErr    error
	serving   map[int64]*Version
	loadedAt  map[int64]filestamp.Stamp // file stamp each serving version came from
	failed    map[int64]filestamp.Stamp // versions refused, by the stamp that failed
	reasons   map[int64]string
	unloaded  bool                      // unloaded through the API; the poller leaves it alone
	lastSeen  map[int64]filestamp.Stamp // previous scan, to spot files still being written
	lastConf  filestamp.Stamp
	forceLoad bool
}

// New returns a manager over opts.Root; call Load to load the models.
func New(opts Options) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	if err := opts.Session.Validate(); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	return &Manager{
		opts:         opts,
		log:          opts.Logger,
		metrics:      newMetrics(opts.Registerer),
		batchMetrics: batching.NewMetrics(opts.Registerer),
		models:       map[string]*modelState{},
	}, nil
}

// Get returns a ready version and holds it until Release. An empty version
// means the highest version served.
func (m *Manager) Get(name, version string) (*Version, error) {
	for {
		v, err := m.lookup(name, version)
		if err != nil {
			return nil, err
		}
		if v.acquire() {
			return v, nil
		}
		// The version closed between lookup and acquire: a newer one has
		// been published, so look again.
	}
}

func (m *Manager) lookup(name, version string) (*Version, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	st, ok := m.models[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrModelNotFound, excerpt.Quote(name))
	}
	if version == "" {
		var best *Version
		for _, v := range st.serving {
			if best == nil || v.Number > best.Number {
				best = v
			}
		}
		if best == nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrNotReady, name, st.reason())
		}
		return best, nil
	}
	n, err := strconv.ParseInt(version, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: %s version %s is not a number", ErrVersionNotFound, name, excerpt.Quote(version))
	}
	if v, ok := st.serving[n]; ok {
		return v, nil
	}
	if r, ok := st.reasons[n]; ok {
		return nil, fmt.Errorf("%w: %s v%d: %s", ErrNotReady, name, n, r)
	}
	return nil, fmt.Errorf("%w: %s v%d", ErrVersionNotFound, name, n)
}

func (st *modelState) reason() string {
	switch {
	case st.unloaded:
		return "unloaded"
	case st.cfgErr != nil:
		return st.cfgErr.Error()
	}
	var vs []int64
	for v := range st.reasons {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] > vs[j] })
	if len(vs) > 0 {
		return fmt.Sprintf("v%d: %s", vs[0], st.reasons[vs[0]])
	}
	return "no loadable version"
}

// Ready reports whether the model (and version, when not empty) serves.
func (m *Manager) Ready(name, version string) bool {
	v, err := m.lookup(name, version)
	return err == nil && v != nil
}

// AllReady reports whether every model in the repository serves at least
// one version; health checks report SERVING only then.
func (m *Manager) AllReady() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.models) == 0 {
		return false
	}
	for _, st := range m.models {
		if len(st.serving) == 0 {
			return false
		}
	}
	return true
}

// Versions lists the versions a model serves, ascending.
func (m *Manager) Versions(name string) []int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	st, ok := m.models[name]
	if !ok {
		return nil
	}
	out := make([]int64, 0, len(st.serving))
	for v := range st.serving {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Close unloads every model, waiting up to ctx for in-flight requests.
func (m *Manager) Close(ctx context.Context) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	m.mu.Lock()
	var all []*Version
	for _, st := range m.models {
		for _, v := range st.serving {
			all = append(all, v)
		}
		st.serving = map[int64]*Version{}
	}
	m.mu.Unlock()
	return m.retire(ctx, all)
}

// retire drains and frees versions that are no longer published.
func (m *Manager) retire(ctx context.Context, vs []*Version) error {
	var wg sync.WaitGroup
	errs := make([]error, len(vs))
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = v.close(ctx)
			m.metrics.ready.DeleteLabelValues(v.Name, strconv.FormatInt(v.Number, 10))
			m.batchMetrics.Forget(v.Name, strconv.FormatInt(v.Number, 10))
			m.log.Info("model version unloaded", "model", v.Name, "version", v.Number)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
