package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aisle-ai/aisle/redisstore"
	"github.com/aisle-ai/aisle/server"
)

// aggregateOptions are the flags of "aisle aggregate".
type aggregateOptions struct {
	features featureFlags
	models   string
	logLevel string
	// httpAddr serves /metrics, /healthz and /readyz; empty serves none.
	httpAddr string
	// drain bounds shutdown, from the signal: the workers' stop and then
	// the HTTP server's (serve's --drain-timeout, below the pod's grace).
	drain time.Duration
}

func (o *aggregateOptions) addFlags(fs *flag.FlagSet) {
	o.features.addFlags(fs)
	fs.StringVar(&o.models, "models", "models", "model repository (its catalog.jsonl gives item attributes)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level")
	fs.BoolVar(&o.features.allowNondurable, "redis-allow-nondurable", false, "fold even when Redis's appendonly, appendfsync or maxmemory-policy break the durability of acknowledged events (logs a warning), as aisle serve's flag")
	fs.DurationVar(&o.features.claimIdle, "claim-idle", redisstore.DefaultMinIdle, "how long an event another worker read stays unacknowledged before this one takes it over (a dead worker's events wait this long)")
	fs.StringVar(&o.httpAddr, "http-addr", "", "HTTP listen address for /metrics, /healthz and /readyz (plaintext), as aisle serve's flag; "+
		"empty, the default, disables it: any fixed default would clash with serve's "+DefaultHTTPAddr+" or another aggregate process on the same host (e.g. 127.0.0.1:8003)")
	fs.DurationVar(&o.drain, "drain-timeout", DefaultDrain, drainUsage)
}

// validate checks the flags whose type admits wrong values, as serve's
// validate does (a *config.Error names the key).
func (o *aggregateOptions) validate() error {
	if o.features.claimIdle <= 0 {
		return fmt.Errorf("aisle aggregate: --claim-idle must be positive")
	}
	if err := positiveDur("drain-timeout", o.drain); err != nil {
		return fmt.Errorf("aisle aggregate: %w", err)
	}
	return nil
}

// aggregateCmd runs fold workers against Redis until interrupted, so
// several processes (or replicas started with --no-aggregate) share the
// consumer group's work. --http-addr is bound first: a port in use fails
// start-up before Redis is touched.
func aggregateCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("aisle aggregate", flag.ContinueOnError)
	var o aggregateOptions
	o.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	if _, ok := o.features.redisOptions(); !ok {
		return fmt.Errorf("aisle aggregate needs --redis-addr or --redis-cluster-addrs (the in-process store folds inside serve)")
	}
	log, _, err := newLogger(o.logLevel, false)
	if err != nil {
		return err
	}
	var hln net.Listener
	if o.httpAddr != "" {
		if hln, err = net.Listen("tcp", o.httpAddr); err != nil {
			return fmt.Errorf("aisle aggregate: listen %s (--http-addr): %w", o.httpAddr, err)
		}
	}
	return runAggregate(ctx, &o, hln, log)
}

// runAggregate opens the store, checks its durability as serve does,
// serves the HTTP endpoints on hln (nil: none) and folds until ctx ends.
// Shutdown: /readyz turns not ready when ctx ends, the workers stop, the
// HTTP server stops, then the store closes; --drain-timeout, counted from
// ctx's end, bounds the workers' stop and the HTTP server's together. hln
// is closed on every path.
func runAggregate(ctx context.Context, o *aggregateOptions, hln net.Listener, log *slog.Logger) error {
	items, err := openCatalog(o.models, log, nil)
	if err != nil {
		closeListeners(hln)
		return err
	}
	attrs, _ := itemSource(items)
	o.features.noAggregate = false
	b, err := openFeatures(ctx, &o.features, attrs, log)
	if err != nil {
		closeListeners(hln)
		return err
	}
	closeStore := sync.OnceFunc(b.close)
	defer closeStore()
	// The workers write the folded state, the dedupe markers and the
	// dead-letter stream: the same promise as serve's, checked the same way.
	if err := checkDurable(ctx, b, &o.features, log); err != nil {
		closeListeners(hln)
		return fmt.Errorf("aisle aggregate: %w", err)
	}
	stopHTTP := serveAggregateHTTP(ctx, hln, b, log)
	log.Info("aisle aggregate folding", "redis", o.features.redisAddr+o.features.redisCluster,
		"partitions", o.features.partitions, "http", o.httpAddr)
	workers := make(chan struct{})
	go func() {
		defer close(workers)
		b.run(ctx)
	}()
	var ended error
	select {
	case <-ctx.Done():
	case <-workers: // the workers ended before any signal: stop, and say so in the exit status
		ended = errors.New("aisle aggregate: the fold workers ended before a signal")
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.drain)
	defer cancel()
	err = waitStopped(sctx, workers)
	stopHTTP(sctx)
	if err != nil {
		// Closing the store fails the Redis call a worker waits on; its
		// context is already done, so it returns and is waited for.
		closeStore()
		<-workers
		return fmt.Errorf("aisle aggregate: fold workers %w (--drain-timeout %v)", err, o.drain)
	}
	return ended
}

// errNotStopped: the fold workers outlived --drain-timeout.
var errNotStopped = errors.New("did not stop in time")

// waitStopped waits for done to close, or for ctx's end (errNotStopped).
func waitStopped(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errNotStopped
	}
}

// readyTimeout bounds /readyz's Redis check (within the probe's own
// request): Kubernetes' default probe timeout is 1 s.
const readyTimeout = time.Second

// serveAggregateHTTP serves aggregate's endpoints on ln until the
// returned stop, which waits for the server to end: /metrics from a
// registry holding the Go and process collectors and the store's metrics
// (storeMetrics, as serve registers them), /healthz, and /readyz, ready
// while run is live and b.checkGroups (always set: aggregate needs Redis)
// passes. stop's ctx bounds the in-flight scrapes; past it they are cut.
// With ln nil it serves nothing.
func serveAggregateHTTP(run context.Context, ln net.Listener, b *featureBackend, log *slog.Logger) (stop func(ctx context.Context)) {
	if ln == nil {
		return func(context.Context) {}
	}
	reg := newProcessRegistry()
	if b.metrics != nil {
		reg.MustRegister(b.metrics)
	}
	ready := func(ctx context.Context) error {
		if run.Err() != nil {
			return server.ErrShuttingDown
		}
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		return b.checkGroups(ctx)
	}
	srv := &http.Server{Handler: server.NewHTTPHandler(reg, ready), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("aggregate: http server", "err", err)
		}
	}()
	return func(ctx context.Context) {
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close() // past the drain: cut the scrapes still open
		}
		<-done
	}
}
