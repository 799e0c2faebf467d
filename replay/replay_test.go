package replay

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/catalog"
)

var now = time.Date(2026, 11, 29, 12, 30, 0, 0, time.UTC)

func groceries(t *testing.T, guests, perGuest int) *Source {
	t.Helper()
	cat, err := catalog.Load(filepath.Join("..", "models", catalog.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Groceries(filepath.Join("..", "testdata", "groceries", "groceries.csv"), cat, guests, perGuest, 7)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func generate(t *testing.T, src *Source, opt Options) ([]byte, []Event) {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	var events []Event
	err := Generate(src, opt, func(e Event) error {
		events = append(events, e)
		return w.Write(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Count() != len(events) {
		t.Fatalf("Count = %d, wrote %d", w.Count(), len(events))
	}
	return buf.Bytes(), events
}

func TestDeterministic(t *testing.T) {
	a, _ := generate(t, groceries(t, 5, 6), DefaultOptions(now))
	b, _ := generate(t, groceries(t, 5, 6), DefaultOptions(now))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different output")
	}
	opt := DefaultOptions(now)
	opt.Seed = 2
	if c, _ := generate(t, groceries(t, 5, 6), opt); bytes.Equal(a, c) {
		t.Fatal("different seeds, same output")
	}
}

// checkSessions checks the click-stream rules of the package doc on every
// session, and that every event lies in the window.
func checkSessions(t *testing.T, src *Source, events []Event, opt Options) {
	t.Helper()
	byOrder := map[string]Order{}
	for _, g := range src.Guests {
		for _, o := range g.Orders {
			byOrder["s-"+o.ID] = o
		}
	}
	ids := map[string]bool{}
	last := map[string]time.Time{}
	var session []Event
	check := func() {
		if len(session) == 0 {
			return
		}
		o := byOrder[session[0].SessionID]
		end := session[len(session)-1]
		if end.Type != TypePurchase || !slices.Equal(end.ItemIDs, o.Items) {
			t.Fatalf("session %s ends with %+v, want a purchase of %v", end.SessionID, end, o.Items)
		}
		viewed, cart := map[string]bool{}, map[string]bool{}
		var added []string
		for _, e := range session[:len(session)-1] {
			switch e.Type {
			case TypeView:
				viewed[e.ItemIDs[0]] = true
			case TypeAddToCart:
				if !viewed[e.ItemIDs[0]] && slices.Contains(o.Items, e.ItemIDs[0]) {
					t.Fatalf("%s: %s added before it was viewed", e.EventID, e.ItemIDs[0])
				}
				cart[e.ItemIDs[0]] = true
				if slices.Contains(o.Items, e.ItemIDs[0]) {
					added = append(added, e.ItemIDs[0])
				}
			case TypeRemoveFromCart:
				if !cart[e.ItemIDs[0]] || slices.Contains(o.Items, e.ItemIDs[0]) {
					t.Fatalf("%s removes %s, not a non-bought item in the cart", e.EventID, e.ItemIDs[0])
				}
			case TypeSearch:
				if e.Query == "" || e.Surface != "search" {
					t.Fatalf("%s: search %+v", e.EventID, e)
				}
			default:
				t.Fatalf("unexpected %s", e.Type)
			}
		}
		if !slices.Equal(added, o.Items) {
			t.Fatalf("session %s adds %v, want %v in add order", end.SessionID, added, o.Items)
		}
		session = session[:0]
	}
	for _, e := range events {
		if ids[e.EventID] {
			t.Fatalf("duplicate event id %s", e.EventID)
		}
		ids[e.EventID] = true
		ts := e.Timestamp.Time
		if ts.After(opt.Now) || opt.Window > 0 && ts.Before(opt.Now.Add(-opt.Window)) {
			t.Fatalf("%s at %v, outside the window", e.EventID, ts)
		}
		if ts.Before(last[e.GuestID]) {
			t.Fatalf("%s at %v goes back in time", e.EventID, ts)
		}
		last[e.GuestID] = ts
		if len(session) > 0 && session[0].SessionID != e.SessionID {
			check()
		}
		session = append(session, e)
	}
	check()
}

func TestGroceriesSessions(t *testing.T) {
	src := groceries(t, 8, 12)
	opt := DefaultOptions(now)
	_, events := generate(t, src, opt)
	checkSessions(t, src, events, opt)
	counts := map[string]int{}
	for _, e := range events {
		counts[e.Type]++
	}
	if counts[TypePurchase] != 8*12 || counts[TypeSearch] == 0 || counts[TypeRemoveFromCart] == 0 || counts[TypeView] <= counts[TypeAddToCart] {
		t.Errorf("event mix %v", counts)
	}
}

// TestJSON pins the protojson form: lowerCamelCase keys, enum names, RFC
// 3339 UTC timestamps, zero values left out.
func TestJSON(t *testing.T) {
	out, _ := generate(t, groceries(t, 1, 2), DefaultOptions(now))
	allowed := map[string]bool{"eventId": true, "guestId": true, "sessionId": true, "type": true, "itemIds": true,
		"query": true, "timestamp": true, "surface": true, "impressionId": true, "slot": true, "attributes": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		for k := range m {
			if !allowed[k] {
				t.Fatalf("key %q in %s", k, line)
			}
		}
		ts, _ := m["timestamp"].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") {
			t.Fatalf("timestamp %q", ts)
		}
		if typ, _ := m["type"].(string); !strings.HasPrefix(typ, "EVENT_TYPE_") {
			t.Fatalf("type %q", typ)
		}
		if _, ok := m["slot"]; ok {
			t.Fatalf("zero slot written: %s", line)
		}
	}
	for in, want := range map[time.Time]string{
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC):                      `"2026-01-02T03:04:05Z"`,
		time.Date(2026, 1, 2, 3, 4, 5, 120e6, time.FixedZone("x", 3600)): `"2026-01-02T02:04:05.120Z"`,
		time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC):                   `"2026-01-02T03:04:05.000001Z"`,
		time.Date(2026, 1, 2, 3, 4, 5, 7, time.UTC):                      `"2026-01-02T03:04:05.000000007Z"`,
	} {
		if got, _ := (Timestamp{in}).MarshalJSON(); string(got) != want {
			t.Errorf("%v → %s, want %s", in, got, want)
		}
	}
}

func TestOptions(t *testing.T) {
	src := groceries(t, 1, 1)
	for _, o := range []Options{
		{},
		{Now: now, Window: time.Hour},
		{Now: now, SearchShare: 1.5},
		{Now: now, RemoveShare: -1},
		{Now: now, BrowseViews: 6},
	} {
		if err := Generate(src, o, func(Event) error { return nil }); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestGroceriesDairy(t *testing.T) {
	cat, err := catalog.Load(filepath.Join("..", "models", catalog.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	src, err := GroceriesDairy(filepath.Join("..", "testdata", "groceries", "groceries.csv"), cat, 15, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Guests) != 1 || src.Guests[0].ID != "groceries-dairy" || len(src.Guests[0].Orders) != 15 {
		t.Fatalf("guests %+v", src.Guests)
	}
	if sh := src.DairyShare(src.Guests[0]); sh < 0.5 {
		t.Errorf("dairy share %v", sh)
	}
	if !src.IsDairy("166") { // whole milk
		t.Error("whole milk is not dairy")
	}
	opt := DefaultOptions(now)
	_, events := generate(t, src, opt)
	checkSessions(t, src, events, opt)
}

// instacartDir is $AISLE_DATA/instacart or ../shared/data/instacart beside
// the repository.
func instacartDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "instacart")
	if d := os.Getenv("AISLE_DATA"); d != "" {
		dir = filepath.Join(d, "instacart")
	}
	if _, err := os.Stat(filepath.Join(dir, "users_sample", "orders.csv")); err != nil {
		t.Skipf("%s not found: Instacart data absent (set AISLE_DATA or put shared/ beside the repository)", dir)
	}
	return dir
}

func TestInstacart(t *testing.T) {
	src, err := Instacart(instacartDir(t))
	if err != nil {
		t.Fatal(err)
	}
	// 64 users, 936 prior orders (PROVENANCE.md).
	orders := 0
	for _, g := range src.Guests {
		orders += len(g.Orders)
	}
	if len(src.Guests) != 64 || orders != 936 {
		t.Fatalf("%d guests, %d orders", len(src.Guests), orders)
	}
	opt := DefaultOptions(now)
	_, events := generate(t, src, opt)
	checkSessions(t, src, events, opt)

	// Without a window, sessions keep the recorded hour of day, and the
	// days between them.
	opt.Window = 0
	starts, ends := map[string]time.Time{}, map[string]time.Time{}
	if err := Generate(src, opt, func(e Event) error {
		if _, ok := starts[e.SessionID]; !ok {
			starts[e.SessionID] = e.Timestamp.Time
		}
		ends[e.SessionID] = e.Timestamp.Time
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	pushed := 0
	for _, g := range src.Guests {
		for i, o := range g.Orders {
			s := starts["s-"+o.ID]
			if i > 0 && s.Sub(ends["s-"+g.Orders[i-1].ID]) <= time.Minute+time.Millisecond {
				pushed++ // two orders within one session's length: this one waits
				continue
			}
			if s.Hour() != o.Hour {
				t.Fatalf("order %s starts at %v, recorded hour %d", o.ID, s, o.Hour)
			}
			if i > 0 {
				days := s.Sub(starts["s-"+g.Orders[i-1].ID]).Hours() / 24
				if gap := o.Day - g.Orders[i-1].Day; days < gap-1 || days > gap+1 {
					t.Fatalf("order %s: %.2f days after the previous, recorded %v", o.ID, days, gap)
				}
			}
		}
	}

	if pushed > orders/50 {
		t.Errorf("%d of %d sessions pushed back by the one before", pushed, orders)
	}

	share := map[string]float64{}
	for _, g := range src.Guests {
		if len(g.Orders) >= 5 {
			share[g.ID] = src.DairyShare(g)
		}
	}
	g, sh, ok := src.DairyGuest(5)
	if !ok || len(src.Guests) != 1 || sh != share[g.ID] {
		t.Fatalf("DairyGuest = %s %v %v", g.ID, sh, ok)
	}
	for id, s := range share {
		if s > sh {
			t.Errorf("%s has dairy share %v > chosen %v", id, s, sh)
		}
	}
	t.Logf("dairy-heavy guest %s: %d orders, dairy share %.2f", g.ID, len(g.Orders), sh)
}
