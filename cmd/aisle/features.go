package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/config"
	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/redisstore"
	"github.com/aisle-ai/aisle/server"
)

// featureFlags choose and tune the event log and guest feature store.
type featureFlags struct {
	redisAddr    string
	redisCluster string
	partitions   int
	readTimeout  time.Duration
	longTerm     string
	noAggregate  bool
	rtWeight     float64
	ltWeight     float64
	banditWindow time.Duration
	dedupeTTL    time.Duration
	// claimIdle is how long a message a worker read stays unacked before
	// another worker claims it (aisle aggregate's --claim-idle; 0 = the
	// store's default).
	claimIdle time.Duration
	// allowNondurable starts serve over a Redis whose settings break the
	// durability promise (redisstore.CheckDurability), with a warning.
	allowNondurable bool
	// banditLog is the off-policy log file (serve --bandit-log).
	banditLog string
	// shutdownWait bounds how long stop waits for the off-policy log's
	// pending impressions to be written (serve's --drain-timeout; 0 =
	// DefaultDrain).
	shutdownWait time.Duration
}

// validateBanditLog: the off-policy log is written when the in-process
// Learner closes an impression; the Redis join, shared by the replicas,
// expires its impressions inside Redis and has no such hook.
func (f *featureFlags) validateBanditLog() error {
	if _, redis := f.redisOptions(); f.banditLog != "" && redis {
		return config.Errorf("bandit-log", "needs the in-process store: the Redis join has no close hook yet (run without --redis-addr/--redis-cluster-addrs)")
	}
	return nil
}

func (f *featureFlags) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.redisAddr, "redis-addr", "", "redis-server host:port for events, guest features and bandit statistics (empty, and no cluster: in-process, not durable)")
	fs.StringVar(&f.redisCluster, "redis-cluster-addrs", "", "comma-separated Redis Cluster seed addresses (instead of --redis-addr)")
	fs.IntVar(&f.partitions, "redis-partitions", redisstore.DefaultPartitions, "event streams guests are spread over; every process sharing a Redis must agree")
	fs.DurationVar(&f.readTimeout, "features-timeout", guest.DefaultReadTimeout, "per-read timeout of guest features for ranking; slower reads degrade to no features")
	fs.StringVar(&f.longTerm, "long-term-features", "", "JSONL of long-term features to load at start (see aisle features load)")
	fs.BoolVar(&f.noAggregate, "no-aggregate", false, "with Redis: do not fold events in this process (run aisle aggregate instead)")
	fs.Float64Var(&f.rtWeight, "real-time-weight", 1, "weight of real-time affinities in the merged score")
	fs.Float64Var(&f.ltWeight, "long-term-weight", 1, "weight of long-term affinities in the merged score")
	fs.DurationVar(&f.dedupeTTL, "dedupe-ttl", guest.DefaultDedupeTTL, "how long folded event ids are remembered, so that a resent or redelivered event counts once (1m to 720h; Redis holds about 100 bytes per event for this long)")
	fs.DurationVar(&f.banditWindow, "bandit-window", bandit.DefaultWindow, "how long after a bandit impression event a click or add-to-cart on its slot still credits the arm")
}

func (f *featureFlags) config() guest.Config {
	return guest.Config{RealTimeWeight: f.rtWeight, LongTermWeight: f.ltWeight, DedupeTTL: f.dedupeTTL}.WithDefaults()
}

func (f *featureFlags) redisOptions() (redisstore.Options, bool) {
	o := redisstore.Options{Addr: f.redisAddr, Partitions: f.partitions, Features: f.config(), MinIdle: f.claimIdle}
	if f.redisCluster != "" {
		o.ClusterAddrs = strings.Split(f.redisCluster, ",")
	}
	return o, f.redisAddr != "" || f.redisCluster != ""
}

// featureBackend is the event log and feature store serve uses, with the
// aggregation loop it owns.
type featureBackend struct {
	log      event.Log
	store    guest.Store
	longTerm guest.LongTermWriter
	// arms holds the bandit statistics; join joins bandit impressions and
	// feedback into rec (the bandits) within window.
	arms bandit.Store
	join func(rec *bandit.Bandits, window time.Duration) server.BanditJoin
	// run folds events until its context ends (nil: another process does).
	run   func(ctx context.Context)
	close func()
	// checkDurability, when set, checks the store's durability settings
	// (redisstore.Store.CheckDurability).
	checkDurability func(ctx context.Context) error
	// metrics, when set, exports the store's own state (Redis: the
	// dead-letter streams' length, the fold's progress; storeMetrics).
	metrics prometheus.Collector
	// checkGroups, when set, checks that Redis answers and the workers'
	// consumer groups exist (redisstore.Store.CheckGroups: aisle
	// aggregate's /readyz).
	checkGroups func(ctx context.Context) error
}

func openFeatures(ctx context.Context, f *featureFlags, attrs guest.ItemAttributes, log *slog.Logger) (*featureBackend, error) {
	cfg := f.config()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, useRedis := f.redisOptions()
	if !useRedis {
		m, l := guest.NewMemory(cfg, attrs), event.NewMemoryLog(0)
		return &featureBackend{log: l, store: m, longTerm: m, arms: bandit.NewMemStore(), join: learnerJoin, close: func() {},
			run: func(ctx context.Context) { m.Run(ctx, l.Events()) }}, nil
	}
	s, err := redisstore.New(opts)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	switch err := s.CheckPartitions(cctx); {
	case errors.Is(err, redisstore.ErrPartitions):
		_ = s.Close()
		return nil, err
	case err != nil:
		// Redis may come up later: appends answer UNAVAILABLE meanwhile and
		// the workers wait for it.
		log.Warn("redis not reachable at start", "err", err)
	}
	b := &featureBackend{log: s, store: s, longTerm: s, arms: s.Arms(), close: func() { _ = s.Close() }, metrics: newStoreMetrics(s)}
	b.join = func(rec *bandit.Bandits, window time.Duration) server.BanditJoin { return s.Join(rec, window) }
	b.checkDurability, b.checkGroups = s.CheckDurability, s.CheckGroups
	if !f.noAggregate {
		w := s.NewWorker(attrs, log)
		b.run = func(ctx context.Context) {
			if err := w.Run(ctx); err != nil {
				log.Error("aggregate", "err", err)
			}
		}
	}
	return b, nil
}

// start runs the aggregation loop and loads long-term features; stop ends
// the loop and closes the store.
func (b *featureBackend) start(ctx context.Context, f *featureFlags, log *slog.Logger) (stop func(), err error) {
	if f.longTerm != "" {
		n, err := loadLongTerm(ctx, f.longTerm, b.longTerm)
		if err != nil {
			b.close()
			return nil, err
		}
		log.Info("long-term features loaded", "guests", n, "file", f.longTerm)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if b.run != nil {
		wg.Go(func() { b.run(ctx) })
	}
	return func() { cancel(); wg.Wait(); b.close() }, nil
}

// loadLongTerm streams a long-term JSONL file into w, 500 guests per
// pipelined call.
func loadLongTerm(ctx context.Context, path string, w guest.LongTermWriter) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	const batch = 500
	var buf []guest.LongTerm
	n := 0
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := w.PutLongTerm(cctx, buf)
		n += len(buf)
		buf = buf[:0]
		return err
	}
	err = guest.ReadLongTerm(f, func(l guest.LongTerm) error {
		buf = append(buf, l)
		if len(buf) == batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("load %s: %w", path, err)
	}
	return n, nil
}

// eventsService builds the Events service over b.
func eventsService(b *featureBackend, f *featureFlags, cat event.Catalog, obs server.EventObserver, reg prometheus.Registerer) *server.Events {
	return server.NewEvents(server.EventsConfig{
		Validator: event.NewValidator(event.Limits{}, cat),
		Log:       b.log,
		// GetGuestFeatures is for the engine and debugging: a longer
		// timeout than ranking's reader.
		Features: guest.NewReader(b.store, f.config(), max(f.readTimeout, time.Second), reg),
		Observer: obs,
	}, reg)
}

// itemSource returns the catalogue as guest aggregation's attributes and
// event validation's item check; with no catalogue, no attributes and nil
// (then any item id is accepted).
func itemSource(cat *catalogAdapter) (guest.ItemAttributes, event.Catalog) {
	if cat == nil {
		return noItems{}, nil
	}
	return cat, cat
}

// noItems knows no attributes.
type noItems struct{}

func (noItems) ItemAttributes(string) (map[string]string, bool) { return nil, false }

// eventsWiring is what serve gets from the feature backend.
type eventsWiring struct {
	// service serves aisle.v1.Events.
	service *server.Events
	// ranking is the reader for the ranking path: --features-timeout per
	// call, "no features" on a slow or down store (for the Recommend
	// pipeline).
	ranking *guest.Reader
	// bandits decide from and learn into the backend's arm store.
	bandits *bandit.Bandits
	// log is the event log the service appends to; Recommend's impressions
	// go there too.
	log event.Log
	// observer credits the bandits from accepted events; Recommend's
	// impressions go to it too (nil without bandit surfaces).
	observer server.EventObserver
	// stop ends aggregation and closes the store; call it after the gRPC
	// server has stopped.
	stop func()
}

// startEvents opens the feature backend, starts its aggregation, builds
// the bandits of bc over its arm store and the Events service, which
// credits them from accepted events.
func startEvents(ctx context.Context, f *featureFlags, items *catalogAdapter, bc bandit.Config, log *slog.Logger, reg prometheus.Registerer) (*eventsWiring, error) {
	attrs, cat := itemSource(items)
	b, err := openFeatures(ctx, f, attrs, log)
	if err != nil {
		return nil, err
	}
	if err := checkDurable(ctx, b, f, log); err != nil {
		b.close()
		return nil, err
	}
	flushLog := func(context.Context) {}
	if f.banditLog != "" {
		if flushLog, err = wireBanditLog(b, f.banditLog, reg, log); err != nil {
			b.close()
			return nil, err
		}
	}
	bw, err := wireBandits(bc, b, f.banditWindow, reg)
	if err != nil {
		b.close()
		flushLog(context.Background()) // nothing pending yet
		return nil, err
	}
	if b.metrics != nil {
		reg.MustRegister(b.metrics)
	}
	stop, err := b.start(ctx, f, log)
	if err != nil {
		flushLog(context.Background()) // nothing pending yet
		return nil, err
	}
	if f.banditLog != "" {
		stopStore := stop
		stop = func() {
			stopStore()
			wait := f.shutdownWait
			if wait <= 0 {
				wait = DefaultDrain
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			flushLog(ctx)
		}
	}
	return &eventsWiring{service: eventsService(b, f, cat, bw.observer, reg), stop: stop, bandits: bw.bandits, log: b.log, observer: bw.observer,
		ranking: guest.NewReader(b.store, f.config(), f.readTimeout, reg)}, nil
}

// checkDurable refuses to serve over a Redis whose settings break the
// promise that an acknowledged event is durable, unless
// --redis-allow-nondurable (then it warns). A Redis without CONFIG
// (managed services) or not reachable yet is a warning: serve starts.
func checkDurable(ctx context.Context, b *featureBackend, f *featureFlags, log *slog.Logger) error {
	if b.checkDurability == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := b.checkDurability(cctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redisstore.ErrNotDurable) && !f.allowNondurable:
		return fmt.Errorf("%w (or start with --redis-allow-nondurable to accept losing acknowledged events)", err)
	case errors.Is(err, redisstore.ErrNotDurable):
		log.Warn("redis is not durable; serving anyway (--redis-allow-nondurable)", "err", err)
	case errors.Is(err, redisstore.ErrConfigUnavailable):
		log.Warn("redis durability settings not checked (CONFIG GET refused); make sure appendonly yes, appendfsync always or everysec, maxmemory-policy noeviction", "err", err)
	default:
		log.Warn("redis durability settings not checked (redis not reachable or not ready at start: loading, busy)", "err", err)
	}
	return nil
}
