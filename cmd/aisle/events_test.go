package main

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/aisle-ai/aisle/bandit"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// The demo click-stream goes through serve's own wiring (item attributes
// from the default repository's items.tsv, the in-process store) and comes
// back as features.
func TestEventsSendDemoInProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var ff featureFlags
	ff.partitions, ff.rtWeight, ff.ltWeight = 16, 1, 1
	ff.longTerm = filepath.Join(t.TempDir(), "lt.jsonl")
	lt := `{"guest_id":"guest-42","affinities":[{"attribute":"department","value":"drinks","score":3,"last_ms":` +
		itoaMs(time.Now()) + `}]}` + "\n"
	if err := os.WriteFile(ff.longTerm, []byte(lt), 0o644); err != nil {
		t.Fatal(err)
	}
	items, err := openCatalog(filepath.Join("..", "..", "models"), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := startEvents(ctx, &ff, items, bandit.Config{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer w.stop()
	svc := w.service
	gs := grpc.NewServer()
	svc.Register(gs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := aislepb.NewEventsClient(conn)
	f, err := os.Open(filepath.Join("..", "..", "testdata", "events", "groceries-demo.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	if err := sendEvents(ctx, c, f, sendOptions{batch: 5, timeout: 5 * time.Second, rebase: true}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "accepted 12, rejected 0, failed 0") {
		t.Fatalf("send output: %s", out.String())
	}
	bad := strings.NewReader(`{"eventId":"x","guestId":"g","type":"EVENT_TYPE_VIEW","itemIds":["999999"]}` + "\n")
	out.Reset()
	if err := sendEvents(ctx, c, bad, sendOptions{batch: 5, timeout: 5 * time.Second}, &out); err != nil || !strings.Contains(out.String(), `unknown item "999999"`) {
		t.Fatalf("unknown item: %v %s", err, out.String())
	}
	var feats *aislepb.GuestFeatures
	for feats == nil || feats.Events < 12 {
		resp, err := c.GetGuestFeatures(ctx, &aislepb.GetGuestFeaturesRequest{GuestId: "guest-42"})
		if err != nil {
			t.Fatal(err)
		}
		feats = resp.Features
		time.Sleep(5 * time.Millisecond)
	}
	top := feats.Affinities[0]
	if top.Value != "dairy produce" && top.Value != "fresh products" {
		t.Errorf("top affinity %+v, want the dairy aisle or fresh products", top)
	}
	var drinks *aislepb.Affinity
	for _, a := range feats.Affinities {
		if a.Attribute == "department" && a.Value == "drinks" {
			drinks = a
		}
	}
	if drinks == nil || math.Abs(drinks.LongTerm-3) > 1e-6 || drinks.RealTime <= 0 {
		t.Errorf("drinks = %+v, want long-term 3 merged with real-time coffee", drinks)
	}
	if feats.Session.Purchases != 1 || len(feats.Cart) != 0 || feats.RecentItems[0].ItemId != "167" {
		t.Errorf("features %+v", feats)
	}
}

func itoaMs(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
