package main

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/aisle-ai/aisle/bandit"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// serve --bandit-log writes every closed impression (here closed at
// shutdown) in the format aisle ope --log reads: events in, stop, ope
// evaluates the served log.
func TestBanditLogServeToOpe(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bandit.jsonl")
	cfg, _, _, err := loadServeConfig([]string{"--bandit-log", path}, envOf(nil), io.Discard)
	must(t, err)
	bc, err := loadBanditConfig(filepath.Join("..", "..", "testdata", "bandits.yaml"))
	must(t, err)
	w, err := startEvents(t.Context(), &cfg.features, nil, bc, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	must(t, err)
	at := timestamppb.New(time.Now().Add(-time.Minute))
	var evs []*aislepb.Event
	for slot, arm := range []string{"popular", "cart-gnn", "popular"} {
		evs = append(evs, &aislepb.Event{EventId: "imp-" + strconv.Itoa(slot), GuestId: "g", Type: aislepb.EventType_EVENT_TYPE_IMPRESSION,
			ItemIds: []string{"1"}, Surface: "home", ImpressionId: "imp", Slot: int32(slot), Timestamp: at,
			Attributes: map[string]string{"arm": arm, "propensity": "0.5"}})
	}
	evs = append(evs, &aislepb.Event{EventId: "atc", GuestId: "g", Type: aislepb.EventType_EVENT_TYPE_ADD_TO_CART,
		ItemIds: []string{"1"}, Surface: "home", ImpressionId: "imp", Slot: 2, Timestamp: at})
	resp, err := w.service.RecordEvents(t.Context(), &aislepb.RecordEventsRequest{Events: evs})
	if err != nil || resp.Accepted != 4 {
		t.Fatalf("RecordEvents: %v, %v", resp, err)
	}
	w.stop()

	data, err := os.ReadFile(path)
	must(t, err)
	if n := bytes.Count(data, []byte("\n")); n != 3 {
		t.Fatalf("bandit log has %d lines, want 3 (one per slot):\n%s", n, data)
	}
	if !bytes.Contains(data, []byte(`"impression_id":"imp#2","surface":"home"`)) || !bytes.Contains(data, []byte(`"reward":1`)) {
		t.Fatalf("bandit log lacks slot 2's reward:\n%s", data)
	}
	target := filepath.Join(dir, "target.yaml")
	must(t, os.WriteFile(target, []byte("probabilities: {popular: 1}\n"), 0o600))
	var out bytes.Buffer
	must(t, opeCmd([]string{"--log", path, "--target", target, "--resamples", "20"}, &out))
	// Slots 0 and 2 showed popular (propensity 0.5), slot 2 was rewarded:
	// IPS = (0 + 0 + 1/0.5) / 3 slots.
	if !strings.Contains(out.String(), "3 slots from") || !strings.Contains(out.String(), "IPS                        0.66667") {
		t.Fatalf("ope --log over the served log:\n%s", out.String())
	}
}

// A writer that cannot keep up never blocks the join: records past the
// queue are dropped and counted, the rest are written.
func TestBanditLogDropsWhenFull(t *testing.T) {
	pr, pw := io.Pipe()
	l := newBanditLog(pw, 1, nil, slog.New(slog.DiscardHandler))
	imp := bandit.Impression{ID: "i", Surface: "home", At: time.Now(), Slots: []bandit.Slot{{Arm: "a", Propensity: 0.5}}}
	for range 10 {
		l.onClose(imp, []bool{false}) // the pipe has no reader yet: must not block
	}
	dropped := testutil.ToFloat64(l.dropped)
	if dropped < 8 {
		t.Fatalf("%v dropped of 10 with a queue of 1 and a stuck writer, want at least 8", dropped)
	}
	lines := make(chan int)
	go func() {
		n := 0
		for sc := bufio.NewScanner(pr); sc.Scan(); n++ {
		}
		lines <- n
	}()
	l.close()
	if n := <-lines; float64(n)+dropped != 10 {
		t.Fatalf("%d written + %v dropped, want 10", n, dropped)
	}
	l.onClose(imp, nil) // after close: dropped, no panic
}

func TestBanditLogNeedsInProcessJoin(t *testing.T) {
	_, _, _, err := loadServeConfig([]string{"--bandit-log", "x.jsonl", "--redis-addr", "127.0.0.1:6379"}, envOf(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "bandit-log") {
		t.Fatalf("--bandit-log with Redis: %v", err)
	}
}
