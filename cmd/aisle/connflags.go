package main

import (
	"flag"
	"strconv"
	"time"

	"github.com/aisle-ai/aisle/server"
)

// addConnFlags registers the overload and connection-limit keys; their
// defaults are server.DefaultConnLimits and
// server.DefaultMaxInFlightPerMethod and DefaultLatencyTarget (the README's Overload section says
// why each value).
func addConnFlags(fs *flag.FlagSet, c *server.ConnLimits, inFlight *int, latencyTarget *time.Duration) {
	d := server.DefaultConnLimits
	*c = d
	fs.IntVar(inFlight, "max-inflight-per-method", server.DefaultMaxInFlightPerMethod, "calls of one RPC method in flight before more are refused with RESOURCE_EXHAUSTED (health checks excepted; 0 = no limit)")
	fs.DurationVar(latencyTarget, "latency-target", server.DefaultLatencyTarget, "p99 latency each RPC method's adaptive in-flight limit steers under; calls over the limit are refused with RESOURCE_EXHAUSTED before their message is read (health checks excepted; 0 = off, the static limit alone)")
	fs.Var((*uint32Value)(&c.MaxConcurrentStreams), "max-concurrent-streams", "calls in flight per client connection; more wait for a stream (0 = unlimited)")
	fs.DurationVar(&c.KeepaliveMinTime, "keepalive-min-time", d.KeepaliveMinTime, "shortest client ping interval; clients pinging more often are closed (GOAWAY too_many_pings)")
	fs.BoolVar(&c.KeepalivePermitWithoutStream, "keepalive-permit-without-stream", d.KeepalivePermitWithoutStream, "allow client pings on connections with no call in flight")
	fs.DurationVar(&c.KeepaliveTime, "keepalive-time", d.KeepaliveTime, "ping a connection idle this long, to find dead clients")
	fs.DurationVar(&c.KeepaliveTimeout, "keepalive-timeout", d.KeepaliveTimeout, "close a connection whose ping is not answered within this")
	fs.DurationVar(&c.MaxConnectionAge, "max-connection-age", d.MaxConnectionAge, "close connections after this long (±10%) so clients re-resolve and spread over replicas (0 = never)")
	fs.DurationVar(&c.MaxConnectionAgeGrace, "max-connection-age-grace", d.MaxConnectionAgeGrace, "time calls in flight get to finish when a connection reaches its age (0 = unbounded)")
}

// uint32Value is a flag.Value for a uint32 (the flag package has none).
type uint32Value uint32

func (v *uint32Value) String() string { return strconv.FormatUint(uint64(*v), 10) }

// Get implements flag.Getter, so the value prints as a number.
func (v *uint32Value) Get() any { return uint32(*v) }

func (v *uint32Value) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return err
	}
	*v = uint32Value(n)
	return nil
}
