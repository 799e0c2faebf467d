package redisstore

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/guest"
)

// Options configure the Redis store; zero fields take the defaults.
type Options struct {
	// Addr is a single redis-server (host:port); ClusterAddrs seed a Redis
	// Cluster instead. Exactly one must be set.
	Addr         string
	ClusterAddrs []string
	// Prefix starts every key (default "aisle").
	Prefix string
	// Partitions is the number of streams guests are spread over (default
	// 16); all processes sharing a Redis must agree.
	Partitions int
	// MaxBacklog is how many unfolded events one partition's stream may
	// hold before appends are refused (default 100,000: about 3 s of the
	// 30k events/s target over all 16 partitions).
	MaxBacklog int
	// Group is the consumer group (default "aggregate").
	Group string
	// Consumer names this process's consumer (default host-pid).
	Consumer string
	// BatchSize is how many messages a worker reads at once (default 100).
	BatchSize int
	// Block is how long an idle worker's read waits (default 200 ms, which
	// also bounds shutdown).
	Block time.Duration
	// MinIdle is how long a message stays pending before another consumer
	// claims it (default 30 s).
	MinIdle time.Duration
	// ClaimEvery is how often a worker looks for such messages (default 5 s).
	ClaimEvery time.Duration
	// MaxFailures moves a message to the dead-letter stream after this
	// many folds that failed because of the message itself (default 5).
	// Transient failures (Redis down, slow, out of memory, loading,
	// failing over) are retried with backoff and not counted: a Redis
	// outage must not turn acknowledged events into dead letters.
	MaxFailures int
	// Features holds the fold maths (half-lives, dedupe TTL, expiry).
	Features guest.Config
}

// Defaults of Options.
const (
	DefaultPartitions  = 16
	DefaultMaxBacklog  = 100_000
	DefaultBatchSize   = 100
	DefaultBlock       = 200 * time.Millisecond
	DefaultMinIdle     = 30 * time.Second
	DefaultClaimEvery  = 5 * time.Second
	DefaultMaxFailures = 5
)

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = "aisle"
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Partitions, DefaultPartitions)
	def(&o.MaxBacklog, DefaultMaxBacklog)
	def(&o.BatchSize, DefaultBatchSize)
	def(&o.MaxFailures, DefaultMaxFailures)
	if o.Group == "" {
		o.Group = "aggregate"
	}
	if o.Consumer == "" {
		host, _ := os.Hostname()
		o.Consumer = host + "-" + strconv.Itoa(os.Getpid())
	}
	if o.Block <= 0 {
		o.Block = DefaultBlock
	}
	if o.MinIdle <= 0 {
		o.MinIdle = DefaultMinIdle
	}
	if o.ClaimEvery <= 0 {
		o.ClaimEvery = DefaultClaimEvery
	}
	o.Features = o.Features.WithDefaults()
	return o
}

// Validate reports unusable options.
func (o Options) Validate() error {
	if (o.Addr == "") == (len(o.ClusterAddrs) == 0) {
		return errors.New("redis: set exactly one of the address and the cluster addresses")
	}
	return o.Features.WithDefaults().Validate()
}

// newClient builds a fail-fast client for Redis 7.0: CLIENT SETINFO (7.2+)
// is not sent.
func newClient(o Options) redis.UniversalClient {
	// Pool: one blocked reader per partition plus room for appends and reads.
	pool := o.Partitions + 64
	if o.Addr != "" {
		return redis.NewClient(&redis.Options{
			Addr: o.Addr, DialTimeout: 250 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
			PoolTimeout: 50 * time.Millisecond, MaxRetries: -1, PoolSize: pool, ContextTimeoutEnabled: true,
			DisableIdentity: true, Protocol: 2,
		})
	}
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: o.ClusterAddrs, DialTimeout: 250 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		PoolTimeout: 50 * time.Millisecond, MaxRetries: -1, PoolSize: pool, ContextTimeoutEnabled: true,
		DisableIdentity: true, Protocol: 2, MaxRedirects: 3,
	})
}

// classify wraps a client error as the event package's sentinel.
func classify(err error, overloaded, unavailable error) error {
	if errors.Is(err, redis.ErrPoolTimeout) {
		return fmt.Errorf("%w: %s", overloaded, describe(err))
	}
	return fmt.Errorf("%w: %s", unavailable, describe(err)) // not %w: a timeout is the store's, not the caller's deadline
}

// hostPort matches a network address in a client error ("dial tcp
// 10.0.0.7:6379: connect: connection refused", "MOVED 42 10.0.0.8:6379").
var hostPort = regexp.MustCompile(`\[?[0-9A-Za-z.:_-]*[0-9A-Za-z\]]:[0-9]{1,5}\b`)

// describe words a client error for the caller: these messages reach gRPC
// clients (per-event reasons, GetGuestFeatures, bandit RPCs), and the
// store's addresses are the server's internals, so every host:port in it
// reads "redis".
func describe(err error) string {
	return hostPort.ReplaceAllString(err.Error(), "redis")
}
