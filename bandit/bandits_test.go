package bandit_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/bandit"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newBandits returns one surface "home" with arms a, b, c under policy,
// with counts already recorded.
func newBandits(t *testing.T, policy bandit.Policy, counts map[string][2]float64) (*bandit.Bandits, bandit.Store) {
	t.Helper()
	store := bandit.NewMemStore()
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{
		Name: "home", Arms: []string{"a", "b", "c"}, Policy: policy, Prior: bandit.Prior{Alpha: 1, Beta: 50},
	}}}, store)
	if err != nil {
		t.Fatal(err)
	}
	for arm, c := range counts {
		if err := b.Add(testContext(t), "home", bandit.Increment{Arm: arm, Pulls: c[0], Rewards: c[1], At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	return b, store
}

// TestPropensities checks, for every policy, that the per-slot
// propensities sum to 1 over arms and match the empirical frequency of
// each arm over many decisions within their error bound.
func TestPropensities(t *testing.T) {
	counts := map[string][2]float64{"a": {1000, 5}, "b": {800, 6}, "c": {300, 1}}
	for _, policy := range []bandit.Policy{bandit.Thompson, bandit.EpsilonGreedy, bandit.Uniform} {
		t.Run(string(policy), func(t *testing.T) {
			b, _ := newBandits(t, policy, counts)
			ctx := testContext(t)
			st, err := b.State(ctx, "home")
			if err != nil {
				t.Fatal(err)
			}
			sum := 0.0
			probs := map[string]float64{}
			for _, a := range st.Arms {
				sum += a.Probability
				probs[a.Arm] = a.Probability
			}
			if math.Abs(sum-1) > 3*st.ProbError+1e-12 {
				t.Errorf("probabilities sum to %.15g", sum)
			}
			const decisions, slots = 20_000, 5
			seen := map[string]float64{}
			for i := range decisions {
				d, err := b.Decide(ctx, bandit.Request{Surface: "home", Guest: "g", ImpressionID: fmt.Sprint("imp", i), Slots: slots})
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range d.Slots {
					seen[s.Arm]++
					if s.Propensity != probs[s.Arm] {
						t.Fatalf("slot propensity %g, state says %g", s.Propensity, probs[s.Arm])
					}
				}
			}
			n := float64(decisions * slots)
			for arm, p := range probs {
				f := seen[arm] / n
				if tol := 4.5*math.Sqrt(p*(1-p)/n) + st.ProbError; math.Abs(f-p) > tol {
					t.Errorf("arm %s: propensity %.5f, chosen %.5f of slots (tolerance %.5f)", arm, p, f, tol)
				}
			}
		})
	}
}

func TestDecideReproducible(t *testing.T) {
	b, _ := newBandits(t, bandit.Thompson, map[string][2]float64{"a": {100, 2}, "b": {100, 3}})
	ctx := testContext(t)
	req := bandit.Request{Surface: "home", Guest: "g1", ImpressionID: "imp-42", Slots: 8}
	first, err := b.Decide(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.Decide(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first.Slots, again.Slots) {
		t.Errorf("retried request got %v, first %v", again.Slots, first.Slots)
	}
	differ := false
	for i := range 20 {
		other, err := b.Decide(ctx, bandit.Request{Surface: "home", Guest: "g1", ImpressionID: fmt.Sprint("imp-", i), Slots: 8})
		if err != nil {
			t.Fatal(err)
		}
		differ = differ || !reflect.DeepEqual(first.Slots, other.Slots)
	}
	if !differ {
		t.Error("20 other impression ids all got the same slate")
	}
}

func TestDecideErrors(t *testing.T) {
	b, _ := newBandits(t, bandit.Thompson, nil)
	ctx := testContext(t)
	tests := []struct {
		req  bandit.Request
		want error
	}{
		{bandit.Request{Surface: "nope", ImpressionID: "i", Slots: 1}, bandit.ErrUnknownSurface},
		{bandit.Request{Surface: "home", Slots: 1}, bandit.ErrInvalid},
		{bandit.Request{Surface: "home", ImpressionID: "i"}, bandit.ErrInvalid},
		{bandit.Request{Surface: "home", ImpressionID: "i", Slots: bandit.MaxSlots + 1}, bandit.ErrInvalid},
	}
	for _, tt := range tests {
		if _, err := b.Decide(ctx, tt.req); !errors.Is(err, tt.want) {
			t.Errorf("Decide(%+v) = %v, want %v", tt.req, err, tt.want)
		}
	}
	if err := b.Add(ctx, "home", bandit.Increment{Arm: "zzz", Pulls: 1, At: t0}); !errors.Is(err, bandit.ErrInvalid) {
		t.Errorf("Add to an unknown arm = %v, want ErrInvalid", err)
	}
}

// TestReset checks that a reset surface starts from its prior and that the
// other surfaces keep their counts.
func TestReset(t *testing.T) {
	b, _ := newBandits(t, bandit.Thompson, map[string][2]float64{"a": {100, 20}})
	ctx := testContext(t)
	if err := b.Reset(ctx, "home"); err != nil {
		t.Fatal(err)
	}
	st, err := b.State(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Arms {
		if a.Pulls != 0 || a.Posterior != (bandit.Beta{Alpha: 1, Beta: 50}) {
			t.Errorf("after reset arm %s = %+v", a.Arm, a)
		}
	}
	if err := b.Reset(ctx, "nope"); !errors.Is(err, bandit.ErrUnknownSurface) {
		t.Errorf("Reset of an unknown surface = %v", err)
	}
}

// failingStore fails every call after the first Load.
type failingStore struct {
	bandit.Store
	fail bool
}

func (f *failingStore) Load(ctx context.Context, s string) (map[string]bandit.Counts, error) {
	if f.fail {
		return nil, errors.New("store down")
	}
	return f.Store.Load(ctx, s)
}

func TestDecideStaleOnStoreFailure(t *testing.T) {
	store := &failingStore{Store: bandit.NewMemStore()}
	b, err := bandit.New(bandit.Config{Refresh: time.Nanosecond, Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"a", "b"}}}}, store)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	req := bandit.Request{Surface: "home", ImpressionID: "i", Slots: 2}
	if d, err := b.Decide(ctx, req); err != nil || d.Stale {
		t.Fatalf("Decide = %+v, %v", d, err)
	}
	store.fail = true
	d, err := b.Decide(ctx, req)
	if err != nil || !d.Stale {
		t.Errorf("Decide with the store down = %+v, %v; want a stale decision", d, err)
	}
	if _, err := b.State(ctx, "home"); err == nil {
		t.Error("State with the store down succeeded")
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"ok", "refresh: 2s\nsurfaces:\n  - name: home\n    arms: [cart-gnn, popular]\n    prior: {alpha: 1, beta: 199}\n    half_life: 24h\n", ""},
		{"unknown key", "surfaces:\n  - name: home\n    arms: [a]\n    priors: {alpha: 1}\n", "field priors not found"},
		{"no arms", "surfaces:\n  - name: home\n", "has no arms"},
		{"bad policy", "surfaces:\n  - name: home\n    arms: [a]\n    policy: greedy\n", "policy \"greedy\""},
		{"prior below 1", "surfaces:\n  - name: home\n    arms: [a]\n    prior: {alpha: 0.5, beta: 1}\n", "at least 1"},
		{"epsilon", "surfaces:\n  - name: home\n    arms: [a]\n    epsilon: 1.5\n", "epsilon 1.5"},
		{"repeated arm", "surfaces:\n  - name: home\n    arms: [a, a]\n", "repeated"},
		{"repeated surface", "surfaces:\n  - name: h\n    arms: [a]\n  - name: h\n    arms: [a]\n", "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bandits.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := bandit.LoadConfig(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				s := cfg.Surfaces[0]
				if cfg.Refresh != 2*time.Second || s.HalfLife != 24*time.Hour || s.Policy != bandit.Thompson || *s.Epsilon != bandit.DefaultEpsilon {
					t.Errorf("config = %+v", cfg)
				}
				return
			}
			if !errors.Is(err, bandit.ErrInvalid) || !contains(err.Error(), tt.wantErr) {
				t.Errorf("LoadConfig = %v, want ErrInvalid mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func BenchmarkDecide(b *testing.B) {
	store := bandit.NewMemStore()
	bs, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"cart-gnn", "query", "popular", "rerank"}}}}, store)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := bs.Decide(ctx, bandit.Request{Surface: "home", Guest: "g", ImpressionID: fmt.Sprint(i), Slots: 10}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentUse runs decisions, increments, state reads and resets at
// once, for the race detector.
func TestConcurrentUse(t *testing.T) {
	store := bandit.NewMemStore()
	b, err := bandit.New(bandit.Config{Refresh: time.Nanosecond, Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"a", "b"}}}}, store)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	done := make(chan struct{})
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 50 {
				var err error
				switch w {
				case 0:
					_, err = b.Decide(ctx, bandit.Request{Surface: "home", ImpressionID: fmt.Sprint(i), Slots: 3})
				case 1:
					err = b.Add(ctx, "home", bandit.Increment{Arm: "a", Pulls: 1, Rewards: 1, At: t0})
				case 2:
					_, err = b.State(ctx, "home")
				case 3:
					if i%10 == 0 {
						err = b.Reset(ctx, "home")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// blockingStore's Load waits for release once block is set.
type blockingStore struct {
	bandit.Store
	mu      sync.Mutex // guards block and loads
	block   bool
	loads   int
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) Load(ctx context.Context, surface string) (map[string]bandit.Counts, error) {
	s.mu.Lock()
	s.loads++
	block := s.block
	s.mu.Unlock()
	if block {
		s.entered <- struct{}{}
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Store.Load(ctx, surface)
}

// TestDecideDoesNotQueueBehindRefresh: while one decision refreshes the
// statistics from a slow store, others decide from the previous ones.
func TestDecideDoesNotQueueBehindRefresh(t *testing.T) {
	store := &blockingStore{Store: bandit.NewMemStore(), entered: make(chan struct{}), release: make(chan struct{})}
	b, err := bandit.New(bandit.Config{Refresh: time.Nanosecond, Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"a", "b"}}}}, store)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	req := bandit.Request{Surface: "home", ImpressionID: "i", Slots: 1}
	if _, err := b.Decide(ctx, req); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.block = true
	store.mu.Unlock()
	slow := make(chan error, 1)
	go func() {
		_, err := b.Decide(ctx, req)
		slow <- err
	}()
	<-store.entered
	d, err := b.Decide(ctx, req)
	if err != nil || d.Stale {
		t.Errorf("decision during a refresh = %+v, %v", d, err)
	}
	close(store.release)
	if err := <-slow; err != nil {
		t.Error(err)
	}
	if store.loads != 2 {
		t.Errorf("%d loads, want 2 (the second decision must not load)", store.loads)
	}
}

// TestHalfLife: with a half-life, State reports counts discounted to now.
func TestHalfLife(t *testing.T) {
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"a"}, HalfLife: 24 * time.Hour}}},
		bandit.NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	if err := b.Add(ctx, "home", bandit.Increment{Arm: "a", Pulls: 8, Rewards: 4, At: time.Now().Add(-48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	st, err := b.State(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	// Two half-lives (plus the moments the test took): a quarter left.
	if a := st.Arms[0]; math.Abs(a.Pulls-2) > 1e-3 || math.Abs(a.Rewards-1) > 1e-3 || a.Posterior.Alpha > 2.001 {
		t.Errorf("after two half-lives: %+v", a)
	}
}
