package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/redisstore"
)

// redriveCmd is "aisle events redrive": it moves the Redis dead letters
// back to the live streams (redisstore.Store.Redrive), for after their
// cause is fixed. Running it twice is harmless: each entry moves once and
// an event folded before is a duplicate for the fold's dedupe.
func redriveCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("aisle events redrive", flag.ContinueOnError)
	var ff featureFlags
	ff.addFlags(fs)
	timeout := fs.Duration("timeout", time.Minute, "deadline of the whole redrive")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts, ok := ff.redisOptions()
	if !ok || fs.NArg() != 0 {
		return fmt.Errorf("usage: aisle events redrive --redis-addr A|--redis-cluster-addrs A,B,C [--redis-partitions N]")
	}
	s, err := redisstore.New(opts)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := s.CheckPartitions(ctx); err != nil {
		return err
	}
	n, err := s.Redrive(ctx)
	fmt.Fprintf(w, "moved %d dead letters back to the event streams\n", n)
	return err
}

// deadLetterCollector exports the dead-letter streams' length at scrape
// time (one pipelined XLEN per partition). The streams are not trimmed
// (trimming would drop acknowledged events): alert when it is above 0,
// fix the cause, then aisle events redrive. A scrape that cannot read
// Redis omits the metric.
type deadLetterCollector struct{ s *redisstore.Store }

var deadLettersDesc = prometheus.NewDesc("aisle_events_dead_letters",
	"Events in the Redis dead-letter streams (not folded; see aisle events redrive).", nil, nil)

// Describe implements prometheus.Collector.
func (deadLetterCollector) Describe(ch chan<- *prometheus.Desc) { ch <- deadLettersDesc }

// Collect implements prometheus.Collector.
func (c deadLetterCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if n, err := c.s.DeadLetters(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(deadLettersDesc, prometheus.GaugeValue, float64(n))
	}
}
