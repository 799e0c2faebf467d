package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/redisstore"
)

// eventsCmd dispatches "aisle events send|redrive".
func eventsCmd(ctx context.Context, args []string, w io.Writer) error {
	if len(args) > 0 && args[0] == "redrive" {
		return redriveCmd(ctx, args[1:], w)
	}
	if len(args) == 0 || args[0] != "send" {
		return fmt.Errorf("usage: aisle events send [--addr A] [--batch N] FILE.jsonl | redrive [redis flags]")
	}
	fs := flag.NewFlagSet("aisle events send", flag.ContinueOnError)
	var client clientConfig
	client.addFlags(fs) // RecordEvents is a mutating call: --token-file or $AISLE_TOKEN
	size := fs.Int("batch", 100, "events per RecordEvents call")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of each call")
	rebase := fs.Bool("rebase", false, "shift all timestamps so the newest is now (reads the whole file first; for demo and replay files older than the retention)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 || *size < 1 {
		return fmt.Errorf("usage: aisle events send [--addr A] [--batch N] FILE.jsonl")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	conn, err := client.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	return sendEvents(ctx, aislepb.NewEventsClient(conn), f, sendOptions{*size, *timeout, *rebase}, w)
}

// sendOptions tune sendEvents.
type sendOptions struct {
	batch   int
	timeout time.Duration
	rebase  bool
}

// sendEvents reads protojson Event lines and sends them in batches,
// printing rejected and failed events and a summary; it fails when any
// event was not stored.
func sendEvents(ctx context.Context, c aislepb.EventsClient, r io.Reader, o sendOptions, w io.Writer) error {
	var total aislepb.RecordEventsResponse
	batch := make([]*aislepb.Event, 0, o.batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		cctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		resp, err := c.RecordEvents(cctx, &aislepb.RecordEventsRequest{Events: batch})
		if err != nil {
			return fmt.Errorf("record %d events: %w", len(batch), err)
		}
		for _, res := range resp.Results {
			if res.Status != aislepb.EventStatus_EVENT_STATUS_ACCEPTED {
				fmt.Fprintf(w, "%s %s: %s\n", res.Status, res.EventId, res.Reason)
			}
		}
		total.Accepted += resp.Accepted
		total.Rejected += resp.Rejected
		total.Failed += resp.Failed
		batch = batch[:0]
		return nil
	}
	add := func(e *aislepb.Event) error {
		if batch = append(batch, e); len(batch) == o.batch {
			return flush()
		}
		return nil
	}
	var all []*aislepb.Event // only with rebase
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 4<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		e := &aislepb.Event{}
		if err := protojson.Unmarshal(sc.Bytes(), e); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if o.rebase {
			all = append(all, e)
		} else if err := add(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	rebaseToNow(all, time.Now())
	for _, e := range all {
		if err := add(e); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "accepted %d, rejected %d, failed %d\n", total.Accepted, total.Rejected, total.Failed)
	if total.Failed > 0 {
		return fmt.Errorf("%d events were not stored; resend them (event ids make it idempotent)", total.Failed)
	}
	return nil
}

// featuresCmd dispatches "aisle features load|get|instacart".
func featuresCmd(ctx context.Context, args []string, w io.Writer) error {
	usage := fmt.Errorf("usage: aisle features load [redis flags] FILE.jsonl | get [--addr A] GUEST | instacart [--data DIR] [--out FILE]")
	if len(args) == 0 {
		return usage
	}
	switch args[0] {
	case "load":
		fs := flag.NewFlagSet("aisle features load", flag.ContinueOnError)
		var ff featureFlags
		ff.addFlags(fs)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if _, ok := ff.redisOptions(); !ok || fs.NArg() != 1 {
			return fmt.Errorf("usage: aisle features load --redis-addr A|--redis-cluster-addrs A,B,C FILE.jsonl (for the in-process store use serve --long-term-features)")
		}
		ff.noAggregate = true
		b, err := openFeatures(ctx, &ff, noItems{}, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		defer b.close()
		n, err := loadLongTerm(ctx, fs.Arg(0), b.longTerm)
		fmt.Fprintf(w, "loaded long-term features of %d guests\n", n)
		return err
	case "get":
		fs := flag.NewFlagSet("aisle features get", flag.ContinueOnError)
		var client clientConfig
		client.addFlags(fs)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usage
		}
		conn, err := client.dial()
		if err != nil {
			return err
		}
		defer conn.Close()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		resp, err := aislepb.NewEventsClient(conn).GetGuestFeatures(cctx, &aislepb.GetGuestFeaturesRequest{GuestId: fs.Arg(0)})
		if err != nil {
			return err
		}
		var v any
		b, _ := protojson.MarshalOptions{EmitUnpopulated: false}.Marshal(resp.Features)
		_ = json.Unmarshal(b, &v)
		out, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintln(w, string(out))
		return nil
	case "instacart":
		return instacartCmd(args[1:], w)
	}
	return usage
}

// rebaseToNow shifts every set timestamp by the same amount so the newest
// is now.
func rebaseToNow(events []*aislepb.Event, now time.Time) {
	var newest time.Time
	for _, e := range events {
		if e.Timestamp != nil && e.Timestamp.AsTime().After(newest) {
			newest = e.Timestamp.AsTime()
		}
	}
	shift := now.Sub(newest)
	for _, e := range events {
		if e.Timestamp != nil {
			e.Timestamp = timestamppb.New(e.Timestamp.AsTime().Add(shift))
		}
	}
}

// redriveCmd is "aisle events redrive": it moves the Redis dead letters
// back to the live streams (redisstore.Store.Redrive), for after their
// cause is fixed, and drops those whose event was folded since (a resent
// copy), however long ago. Running it twice is harmless: each entry moves
// or drops once. The one bound left is the dedupe's (a copy folded more
// than --dedupe-ttl before the dead letter was written); the help and the
// output say so (redriveUsage, redriveNote).
func redriveCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("aisle events redrive", flag.ContinueOnError)
	fs.SetOutput(w)
	var ff featureFlags
	ff.addFlags(fs)
	timeout := fs.Duration("timeout", time.Minute, "deadline of the whole redrive")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), redriveUsage)
		fs.PrintDefaults()
	}
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
	n, dropped, err := s.Redrive(ctx)
	fmt.Fprintf(w, "moved %d dead letters back to the event streams, dropped %d whose event was folded since\n", n, dropped)
	if n > 0 {
		fmt.Fprint(w, redriveNote)
	}
	return err
}

// redriveUsage and redriveNote state what redrive guarantees and the one
// bound left: the dedupe remembers an event id for --dedupe-ttl only, so
// a fold of the event's copy more than that before the dead letter was
// written is unknown to it.
const (
	redriveUsage = `usage: aisle events redrive --redis-addr A|--redis-cluster-addrs A,B,C [flags]
Moves the Redis dead letters back to the event streams to be folded again; fix their cause first.
A dead letter whose event was folded after it was dead-lettered (a resent copy) is dropped instead,
however long ago that fold was. Each entry moves or drops once, so running it again is harmless.
One bound remains, the dedupe's own: a copy of the event folded more than the workers'
--dedupe-ttl (default 15m) before the dead letter was written is unknown, and the event counts twice.
`
	redriveNote = "a dead letter whose event had been folded (from a resent copy) more than the workers' --dedupe-ttl (default 15m) before it was dead-lettered counts twice\n"
)
