package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/config"
)

// TestAggregateDrainFlag checks aisle aggregate's --drain-timeout against
// serve's: the same name, default and help, each value parsed into the
// options, and a value that is not positive refused by aggregateCmd before
// Redis is touched (port 1 answers nothing), naming the key as serve does.
func TestAggregateDrainFlag(t *testing.T) {
	serveFS := flag.NewFlagSet("serve", flag.ContinueOnError)
	var sc serveConfig
	sc.addFlags(serveFS)
	aggFS := flag.NewFlagSet("aggregate", flag.ContinueOnError)
	var o aggregateOptions
	o.addFlags(aggFS)
	sf, af := serveFS.Lookup("drain-timeout"), aggFS.Lookup("drain-timeout")
	if af == nil {
		t.Fatal("aisle aggregate has no --drain-timeout")
	}
	if af.DefValue != sf.DefValue || af.Usage != sf.Usage {
		t.Errorf("aggregate --drain-timeout default %q help %q; serve's are %q %q", af.DefValue, af.Usage, sf.DefValue, sf.Usage)
	}
	if got := parseAggregate(t).drain; got != DefaultDrain {
		t.Errorf("default drain %v, want DefaultDrain %v", got, DefaultDrain)
	}
	if got := parseAggregate(t, "--drain-timeout", "7s").drain; got != 7*time.Second {
		t.Errorf("--drain-timeout 7s parsed as %v", got)
	}
	if err := parseAggregate(t, "--drain-timeout", "7s").validate(); err != nil {
		t.Errorf("--drain-timeout 7s: %v", err)
	}
	for _, v := range []string{"0s", "-1s"} {
		err := aggregateCmd(t.Context(), []string{"--redis-addr", "127.0.0.1:1", "--drain-timeout", v})
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != "drain-timeout" || !strings.Contains(err.Error(), "must be > 0") {
			t.Errorf("--drain-timeout %s: %v, want a config error naming drain-timeout", v, err)
		}
	}
	fs := flag.NewFlagSet("aggregate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var bad aggregateOptions
	bad.addFlags(fs)
	if err := fs.Parse([]string{"--drain-timeout", "soon"}); err == nil {
		t.Error("--drain-timeout soon accepted")
	}
}

// waitStopped is what bounds the workers' stop: a closed channel is
// stopped; one still open when the drain context ends is errNotStopped.
func TestAggregateWaitStopped(t *testing.T) {
	done := make(chan struct{})
	close(done)
	if err := waitStopped(t.Context(), done); err != nil {
		t.Errorf("closed channel: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := waitStopped(ctx, make(chan struct{})); !errors.Is(err, errNotStopped) {
		t.Errorf("drain over, workers running: %v, want errNotStopped", err)
	}
}
