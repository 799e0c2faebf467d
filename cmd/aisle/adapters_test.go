package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/server"
)

// The source bandit fills each slot from the source it draws (best ranked
// first, no item twice, the best remaining item when the drawn source has
// none) with the slot's propensity, and answers a surface it does not know
// with the top k at propensity 1.
func TestSourceBandit(t *testing.T) {
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{
		{Name: "home", Arms: []string{"session", "popular"}, Policy: bandit.Uniform}}}, bandit.NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	sb := sourceBandit{b}
	req := recommend.SlateRequest{Surface: "home", GuestID: "g", ImpressionID: "imp-1", K: 4,
		Arms:    []string{"a", "b", "c", "d", "e", "f", "g", "h"},
		Sources: []string{"session", "popular", "session", "popular", "popular", "session", "session", "popular"}}
	picks, err := sb.Slate(context.Background(), req)
	if err != nil || len(picks) != 4 {
		t.Fatalf("picks %v, %v", picks, err)
	}
	seen := map[int]bool{}
	next := map[string]int{}
	for _, p := range picks {
		if seen[p.Arm] || math.Abs(p.Propensity-0.5) > 1e-12 || (p.Name != "session" && p.Name != "popular") {
			t.Fatalf("pick %+v of %v", p, picks)
		}
		seen[p.Arm] = true
		// Within a source, items are taken best ranked first (each source
		// has K items, so no slot falls back).
		var order []int
		for i, s := range req.Sources {
			if s == p.Name {
				order = append(order, i)
			}
		}
		if n := next[p.Name]; p.Arm != order[n] {
			t.Errorf("slot from %s showed arm %d, want %d", p.Name, p.Arm, order[n])
		}
		next[p.Name]++
	}
	plain, err := sb.Slate(context.Background(), recommend.SlateRequest{Surface: "cart", ImpressionID: "imp-2", K: 2, Arms: req.Arms, Sources: req.Sources})
	if err != nil || len(plain) != 2 || plain[0] != (recommend.Pick{Arm: 0, Propensity: 1}) || plain[1].Arm != 1 {
		t.Fatalf("surface without a bandit: %v, %v", plain, err)
	}
}

// Guest affinities are scaled per attribute so the best value is 1, then
// averaged over the attributes; a late store is a deadline error.
func TestGuestFeaturesScaled(t *testing.T) {
	aff := scaleAffinities([]guest.Affinity{
		{Attribute: "aisle", Value: "dairy produce", Score: 200},
		{Attribute: "aisle", Value: "fruit", Score: 50},
		{Attribute: "department", Value: "fresh products", Score: 10},
	})
	if aff["aisle"]["dairy produce"] != 0.5 || aff["aisle"]["fruit"] != 0.125 || aff["department"]["fresh products"] != 0.5 {
		t.Fatalf("scaled %v", aff)
	}
	if err := featureErr(guest.Features{Degraded: "timeout"}, errors.New("slow")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
}

// recordingLog is an event.Log that keeps what it is given.
type recordingLog struct{ events []event.Event }

func (l *recordingLog) Append(_ context.Context, evs []event.Event) []error {
	l.events = append(l.events, evs...)
	return make([]error, len(evs))
}

// Every decision made for a guest or a session is logged with its
// propensity: an anonymous session's under "session:<id>"; an answer with
// neither id cannot be cited by feedback and is not logged.
func TestImpressionLogAnonymousSessions(t *testing.T) {
	items := []recommend.ImpressionItem{{ID: "166", Position: 0, Source: "session", Propensity: 0.25, Arm: "session"}}
	for _, tc := range []struct {
		guest, session, want string
	}{
		{"g1", "s1", "g1"},
		{"", "s1", "session:s1"},
		{"", "", ""},
	} {
		var rec recordingLog
		err := impressionLog{log: &rec}.LogImpression(context.Background(), recommend.Impression{
			ID: "imp", At: time.Now(), Surface: "home", GuestID: tc.guest, SessionID: tc.session, Items: items})
		if tc.want == "" {
			if !errors.Is(err, recommend.ErrNotLogged) || len(rec.events) != 0 {
				t.Errorf("guest %q session %q: %v, logged %v; want ErrNotLogged and nothing", tc.guest, tc.session, err, rec.events)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.events) != 1 || rec.events[0].GuestID != tc.want || rec.events[0].Attributes["propensity"] != "0.25" ||
			rec.events[0].ImpressionID != "imp" || rec.events[0].Type != event.TypeImpression {
			t.Errorf("guest %q session %q: logged %+v, want one impression under %q with propensity 0.25", tc.guest, tc.session, rec.events, tc.want)
		}
	}
}

// Recommend's own impressions are bandit impressions: the slots it logs
// reach the join as the Events service's would, so a click citing the
// impression id and slot credits the drawn arm. They once went to the log
// only, and every such click counted unknown: the bandit never learnt.
func TestImpressionLogJoinsBandit(t *testing.T) {
	ctx := context.Background()
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{
		{Name: "home", Arms: []string{"session", "popular"}, Policy: bandit.Uniform}}}, bandit.NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	join := bandit.NewLearner(b, bandit.LearnerConfig{})
	l := impressionLog{log: event.NewMemoryLog(0), bandits: b, observer: server.NewBanditEvents(join, nil)}
	at := time.Now()
	imp := recommend.Impression{ID: "imp-1", At: at, Surface: "home", GuestID: "g",
		Items: []recommend.ImpressionItem{{ID: "i1", Position: 0, Source: "popular", Propensity: 0.5, Arm: "popular"}}}
	if err := l.LogImpression(ctx, imp); err != nil {
		t.Fatal(err)
	}
	out, err := join.Feedback(ctx, bandit.Feedback{ImpressionID: "imp-1#0", Type: bandit.Click, At: at.Add(time.Second)})
	if err != nil || out != bandit.Credited {
		t.Fatalf("click on Recommend's slot 0: outcome %v, %v; want credited", out, err)
	}
	st, err := b.State(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Arms {
		if a.Arm == "popular" && (a.Pulls < 0.99 || a.Rewards < 0.99) {
			t.Errorf("arm popular: %v pulls, %v rewards; want 1 and 1", a.Pulls, a.Rewards)
		}
	}
}

// A slate the bandit did not choose (its decision failed: rung
// slate/bandit_<reason>, every slot at propensity 1) is no bandit
// impression: crediting it would teach the bandit from the ranker's picks.
func TestImpressionLogSkipsFallbackSlate(t *testing.T) {
	ctx := context.Background()
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{
		{Name: "home", Arms: []string{"session", "popular"}, Policy: bandit.Uniform}}}, bandit.NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	l := impressionLog{log: event.NewMemoryLog(0), bandits: b,
		observer: server.NewBanditEvents(bandit.NewLearner(b, bandit.LearnerConfig{}), nil)}
	imp := recommend.Impression{ID: "imp-2", At: time.Now(), Surface: "home", GuestID: "g",
		Degraded: []string{"slate/bandit_unavailable"},
		Items:    []recommend.ImpressionItem{{ID: "i1", Position: 0, Source: "popular", Propensity: 1, Arm: "popular"}}}
	if err := l.LogImpression(ctx, imp); err != nil {
		t.Fatal(err)
	}
	st, err := b.State(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Arms {
		if a.Pulls != 0 {
			t.Errorf("arm %s: %v pulls from a slate the bandit did not choose", a.Arm, a.Pulls)
		}
	}
}

// TestCatalogViewRebuiltOnce: after the store swaps catalogues, the
// readers racing on the swap build the new view once between them and all
// read it.
func TestCatalogViewRebuiltOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), catalog.DefaultFile)
	item := func(id, name string) string {
		return `{"id":"` + id + `","name":"` + name + `","price":1,"stock":1,"aisle":"dairy"}` + "\n"
	}
	write := func(body string, mtime time.Time) {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Unix(1_700_000_000, 0)
	write(item("1", "milk"), t0)
	s, err := catalog.Open(catalog.StoreOptions{Path: path, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newCatalogAdapter(s)
	if err != nil {
		t.Fatal(err)
	}
	write(item("1", "milk")+item("2", "eggs"), t0.Add(time.Second))
	for range 2 { // a change is loaded once it held still for one poll
		s.Check()
	}
	if s.Catalog().Len() != 2 {
		t.Fatalf("the store did not load the new catalogue (%d items)", s.Catalog().Len())
	}
	const readers = 16
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			if !a.Known("2") {
				t.Error("a reader after the swap does not know the new item")
			}
		})
	}
	wg.Wait()
	if n := a.rebuilds.Load(); n != 1 {
		t.Errorf("%d readers built %d views, want 1", readers, n)
	}
}
