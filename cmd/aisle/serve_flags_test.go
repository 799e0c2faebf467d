package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/server"
)

// TestServeLimitFlags checks the overload and connection-limit flags:
// their defaults are server.DefaultConnLimits and DefaultMaxInFlightPerMethod,
// and each flag sets its field.
func TestServeLimitFlags(t *testing.T) {
	parse := func(args ...string) serveConfig {
		t.Helper()
		var c serveConfig
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.addFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatalf("parse %v: %v", args, err)
		}
		return c
	}
	if c := parse(); c.conn != server.DefaultConnLimits || c.inFlight != server.DefaultMaxInFlightPerMethod {
		t.Errorf("defaults: %+v, in flight %d", c.conn, c.inFlight)
	}
	c := parse("--max-concurrent-streams", "7", "--keepalive-min-time", "1s", "--keepalive-permit-without-stream=false",
		"--keepalive-time", "3s", "--keepalive-timeout", "4s", "--max-connection-age", "0", "--max-connection-age-grace", "5s",
		"--max-inflight-per-method", "9")
	want := server.ConnLimits{MaxConcurrentStreams: 7, KeepaliveMinTime: time.Second, KeepaliveTime: 3 * time.Second,
		KeepaliveTimeout: 4 * time.Second, MaxConnectionAgeGrace: 5 * time.Second}
	if c.conn != want || c.inFlight != 9 {
		t.Errorf("parsed %+v, in flight %d; want %+v, 9", c.conn, c.inFlight, want)
	}
	var bad serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bad.addFlags(fs)
	if err := fs.Parse([]string{"--max-concurrent-streams", "-1"}); err == nil {
		t.Error("--max-concurrent-streams -1 accepted")
	}
}
