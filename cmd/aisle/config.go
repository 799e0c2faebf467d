package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/aisle-ai/aisle/config"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/server"
)

// Defaults of "aisle serve" (see also server.Default* for the request
// limits). Every key is also settable as AISLE_<FLAG> and in the --config
// file; package config gives the precedence.
const (
	DefaultModels    = "models"
	DefaultGRPCAddr  = "127.0.0.1:8001"
	DefaultHTTPAddr  = "127.0.0.1:8002"
	DefaultOpThreads = 1 // per session: several sessions share few cores (docs/TUNING.md)
	DefaultGraphOpt  = "all"
	DefaultProvider  = "cpu"
	// DefaultPoll re-scans the repository every 5 s: a model copied in is
	// serving within seconds, at the cost of a stat per file.
	DefaultPoll = 5 * time.Second
	// DefaultDrain bounds shutdown and unloads: Kubernetes' default grace
	// period is 30 s, so the process exits before it is killed.
	DefaultDrain = 30 * time.Second
	// drainUsage is --drain-timeout's help, shared by serve and aggregate
	// so that the two commands describe the flag alike.
	drainUsage        = "how long shutdown and unloads wait for in-flight requests"
	DefaultMaxMsgSize = 64 << 20 // bytes; a 16 Mi-element FP32 tensor
	DefaultLogLevel   = "info"
	// DefaultAccessLogSample logs 1 in 100 successful calls (errors are
	// always logged): 100 lines/s at 10k calls/s.
	DefaultAccessLogSample = 0.01
)

// serveConfig is the configuration of "aisle serve": one field per flag,
// registered by addFlags. The zero value plus addFlags is the default
// configuration; loadServeConfig layers the file and environment over it.
type serveConfig struct {
	models          string
	grpcAddr        string
	httpAddr        string
	ortLib          string
	session         inference.SessionOptions
	poll            time.Duration
	drain           time.Duration
	maxRecv         int
	maxSend         int
	logLevel        string
	logJSON         bool
	accessLogSample float64
	strict          bool
	bandits         string
	security        securityConfig
	limits          server.Limits
	inFlight        int
	latencyTarget   time.Duration
	conn            server.ConnLimits
	features        featureFlags
	pprof           bool

	// level is the running logger's level, which LogSettings changes; set
	// at start, not a key.
	level *slog.LevelVar
}

// addFlags registers every key. Adding a key is one line here (and a check
// in validate when some values are wrong); it is then also AISLE_<FLAG>, a
// --config key and a line of --print-config.
func (c *serveConfig) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.models, "models", DefaultModels, "model repository directory (models/<name>/config.yaml, models/<name>/<version>/model.onnx)")
	fs.StringVar(&c.grpcAddr, "grpc-addr", DefaultGRPCAddr, "gRPC listen address (KServe v2 + aisle.v1.Personalization)")
	fs.StringVar(&c.httpAddr, "http-addr", DefaultHTTPAddr, "HTTP listen address for /metrics, /healthz and /readyz (empty disables)")
	fs.BoolVar(&c.pprof, "pprof", false, "also serve Go's profiler (net/http/pprof) under /debug/pprof/ on --http-addr; off by default: it shows goroutine stacks to anyone who reaches that address")
	fs.StringVar(&c.ortLib, "ort-lib", "", "path to libonnxruntime.so.1 (default $"+inference.LibraryEnv+", then "+inference.DefaultLibraryPath+")")
	fs.IntVar(&c.session.IntraOpThreads, "intra-op-threads", DefaultOpThreads, "ONNX Runtime threads inside one operator per session (0 = one per core); a model's config may override")
	fs.IntVar(&c.session.InterOpThreads, "inter-op-threads", DefaultOpThreads, "ONNX Runtime threads across operators per session (0 = runtime default)")
	fs.StringVar(&c.session.GraphOptimization, "graph-optimization", DefaultGraphOpt, "graph optimisation level: disable, basic, extended or all")
	fs.StringVar(&c.session.ExecutionProvider, "execution-provider", DefaultProvider, "execution provider: cpu, cuda or tensorrt (needs a runtime library built with it)")
	fs.DurationVar(&c.poll, "poll-interval", DefaultPoll, "how often to re-scan the repository for new, changed or removed models and surfaces.yaml (0 disables)")
	fs.DurationVar(&c.drain, "drain-timeout", DefaultDrain, drainUsage)
	fs.IntVar(&c.maxRecv, "max-recv-msg-size", DefaultMaxMsgSize, "largest gRPC request in bytes")
	fs.IntVar(&c.maxSend, "max-send-msg-size", DefaultMaxMsgSize, "largest gRPC response in bytes")
	fs.StringVar(&c.logLevel, "log-level", DefaultLogLevel, "log level: debug, info, warn or error")
	fs.BoolVar(&c.logJSON, "log-json", false, "write logs as JSON lines")
	fs.Float64Var(&c.accessLogSample, "access-log-sample-rate", DefaultAccessLogSample, "fraction of successful gRPC calls written to the access log, 0 to 1 (failed calls: up to 20 a second per method)")
	fs.BoolVar(&c.strict, "strict-readiness", true, "ready (ServerReady, health, /readyz) only while every model serves; false: ready while the server serves, as Triton's flag")
	fs.StringVar(&c.bandits, "bandits", "", "bandit surfaces config (YAML, see BANDITS.md); empty = the model repository's bandits.yaml if present, else no surfaces")
	c.security.addFlags(fs)
	addLimitFlags(fs, &c.limits)
	addConnFlags(fs, &c.conn, &c.inFlight, &c.latencyTarget)
	c.features.addFlags(fs)
	fs.StringVar(&c.features.banditLog, "bandit-log", "", "append every closed bandit impression (slot, arm, propensity, reward) to this JSONL file, the input of aisle ope --log; in-process store only (a full queue drops and counts aisle_bandit_log_dropped_total)")
	fs.BoolVar(&c.features.allowNondurable, "redis-allow-nondurable", false, "start even when Redis's appendonly, appendfsync or maxmemory-policy break the durability of acknowledged events (logs a warning); for tests and throw-away setups")
}

// printConfigFlag prints the effective configuration and exits.
const printConfigFlag = "print-config"

// loadServeConfig builds the configuration from args, the environment
// (lookupEnv) and the --config file, and validates it. printOnly reports
// --print-config; fs is kept for config.Print.
func loadServeConfig(args []string, lookupEnv func(string) (string, bool), usage io.Writer) (cfg serveConfig, fs *flag.FlagSet, printOnly bool, err error) {
	fs = flag.NewFlagSet("aisle serve", flag.ContinueOnError)
	fs.SetOutput(usage)
	cfg.addFlags(fs)
	fs.BoolVar(&printOnly, printConfigFlag, false, "print the effective configuration as YAML (secrets redacted; usable as --config) and exit")
	if err := config.Load(fs, args, lookupEnv, printConfigFlag); err != nil {
		return cfg, fs, false, err
	}
	return cfg, fs, printOnly, cfg.validate()
}

// validate checks every key whose flag type admits wrong values; each
// error is a *config.Error naming the key and the problem.
func (c *serveConfig) validate() error {
	addr := func(key, v string, optional bool) error {
		if v == "" && optional {
			return nil
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			return config.Errorf(key, "want host:port, got %q", v)
		}
		return nil
	}
	nonNeg := func(key string, v int64) error {
		if v < 0 {
			return config.Errorf(key, "must be >= 0, got %d", v)
		}
		return nil
	}
	positive := func(key string, v int64) error {
		if v <= 0 {
			return config.Errorf(key, "must be > 0, got %d", v)
		}
		return nil
	}
	var lvl slog.Level
	for _, err := range []error{
		nonEmpty("models", c.models),
		addr("grpc-addr", c.grpcAddr, false),
		addr("http-addr", c.httpAddr, true),
		pprofNeedsHTTP(c.pprof, c.httpAddr),
		nonNeg("intra-op-threads", int64(c.session.IntraOpThreads)),
		nonNeg("inter-op-threads", int64(c.session.InterOpThreads)),
		oneOf("graph-optimization", c.session.GraphOptimization, "disable", "basic", "extended", "all"),
		oneOf("execution-provider", c.session.ExecutionProvider, "cpu", "cuda", "tensorrt"),
		nonNegDur("poll-interval", c.poll),
		nonNegDur("latency-target", c.latencyTarget),
		positiveDur("drain-timeout", c.drain),
		positiveDur("bandit-window", c.features.banditWindow),
		durRange("dedupe-ttl", c.features.dedupeTTL, guest.MinDedupeTTL, guest.MaxDedupeTTL),
		positive("max-recv-msg-size", int64(c.maxRecv)),
		positive("max-send-msg-size", int64(c.maxSend)),
		wrap("log-level", lvl.UnmarshalText([]byte(c.logLevel))),
		fraction("access-log-sample-rate", c.accessLogSample),
		limitsErr(c.limits.Validate()),
		c.features.validateBanditLog(),
		c.security.validate(),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func nonEmpty(key, v string) error {
	if v == "" {
		return config.Errorf(key, "must not be empty")
	}
	return nil
}

func oneOf(key, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return config.Errorf(key, "%q is not one of %q", v, allowed)
}

func nonNegDur(key string, d time.Duration) error {
	if d < 0 {
		return config.Errorf(key, "must be >= 0, got %v", d)
	}
	return nil
}

func positiveDur(key string, d time.Duration) error {
	if d <= 0 {
		return config.Errorf(key, "must be > 0, got %v", d)
	}
	return nil
}

// pprofNeedsHTTP refuses --pprof without an HTTP listener to serve it on,
// rather than accepting a flag that does nothing.
func pprofNeedsHTTP(on bool, httpAddr string) error {
	if on && httpAddr == "" {
		return config.Errorf("pprof", "needs --http-addr (the profiler is served there)")
	}
	return nil
}

func durRange(key string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return config.Errorf(key, "must be between %v and %v, got %v", lo, hi, d)
	}
	return nil
}

func fraction(key string, v float64) error {
	if !(v >= 0 && v <= 1) { // also refuses NaN
		return config.Errorf(key, "must be between 0 and 1, got %v", v)
	}
	return nil
}

// limitsErr turns server.Limits.Validate's error into one naming its key.
func limitsErr(err error) error {
	if le, ok := errors.AsType[*server.LimitError](err); ok {
		return config.Errorf(le.Name, "%s", le.Problem)
	}
	return err
}

func wrap(key string, err error) error {
	if err != nil {
		return config.Errorf(key, "%v", err)
	}
	return nil
}

// validate checks the TLS and authorization keys that only work together.
func (c *securityConfig) validate() error {
	f := c.tls
	switch {
	case f.CertFile != "" && f.KeyFile == "":
		return config.Errorf("tls-key", "needed with --tls-cert")
	case f.KeyFile != "" && f.CertFile == "":
		return config.Errorf("tls-cert", "needed with --tls-key")
	case f.ClientCAFile != "" && !f.Enabled():
		return config.Errorf("tls-client-ca", "needs --tls-cert and --tls-key")
	case f.RequireClientCert && f.ClientCAFile == "":
		return config.Errorf("tls-require-client-cert", "needs --tls-client-ca")
	case c.allowedClients != "" && f.ClientCAFile == "":
		return config.Errorf("auth-allowed-clients", "needs --tls-client-ca to verify client certificates")
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
