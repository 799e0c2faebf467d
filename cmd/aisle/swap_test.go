package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/internal/servetest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/repository"
)

// trackedIndex is serve's ann index with a Close that records when the
// repository drops it, and a count of searches made after that (which a
// drained version never sees).
type trackedIndex struct {
	recommend.Index
	dim         int
	closed      atomic.Int64 // Close calls
	afterClosed atomic.Int64 // searches after the first Close
}

func (x *trackedIndex) Search(ctx context.Context, q []float32, k int, allow recommend.Allow) ([]recommend.Hit, error) {
	if x.closed.Load() > 0 {
		x.afterClosed.Add(1)
	}
	return x.Index.Search(ctx, q, k, allow)
}

func (x *trackedIndex) Close() error {
	x.closed.Add(1)
	return nil
}

// indexes records every index the repository builds, in build order.
type indexes struct {
	build recommend.NewIndex // the index tracked: serve's newANNIndex or a variant
	mu    sync.Mutex         // guards built
	built []*trackedIndex
}

func (ix *indexes) newIndex(m *catalog.Matrix) (recommend.Index, error) {
	inner, err := ix.build(m)
	if err != nil {
		return nil, err
	}
	t := &trackedIndex{Index: inner, dim: m.Dim}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.built = append(ix.built, t)
	return t, nil
}

// ofDim returns the indexes built over vectors of dim, in build order.
func (ix *indexes) ofDim(dim int) []*trackedIndex {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var out []*trackedIndex
	for _, t := range ix.built {
		if t.dim == dim {
			out = append(out, t)
		}
	}
	return out
}

// reverseRows returns an item-embedding file (docs/CONVENTIONS.md) with
// its rows in reverse order: every vector moves to another item, so the
// same session embedding finds other items — a retrain's stand-in.
func reverseRows(t *testing.T, data []byte) []byte {
	t.Helper()
	if len(data) < 16 || string(data[:8]) != "AISLEEMB" {
		t.Fatal("not an item-embedding file")
	}
	rows, dim := int(binary.LittleEndian.Uint32(data[8:])), int(binary.LittleEndian.Uint32(data[12:]))
	out := slices.Clone(data[:16])
	for r := rows - 1; r >= 0; r-- {
		out = append(out, data[16+r*dim*4:16+(r+1)*dim*4]...)
	}
	return out
}

// serveSwappable serves a copy of the default repository as serveCopy
// does, its item indexes built by build (nil: serve's newANNIndex) and
// tracked, the repository polled every 20 ms.
func serveSwappable(t *testing.T, build recommend.NewIndex) (string, aislepb.PersonalizationClient, *indexes) {
	t.Helper()
	if build == nil {
		build = newANNIndex
	}
	tracked := &indexes{build: build}
	served := serveCopy(t, copyOptions{newIndex: tracked.newIndex, repoPoll: 20 * time.Millisecond})
	return served.root, served.client, tracked
}

// swapLoad calls Recommend until stopped, recording failures and, per
// cart-gnn version, the distinct answers.
type swapLoad struct {
	calls, failures atomic.Int64
	firstErr        atomic.Value
	mu              sync.Mutex                 // guards answers
	answers         map[string]map[string]bool // cart-gnn version → answer (item ids) → seen
}

func (l *swapLoad) run(ctx context.Context, c aislepb.PersonalizationClient, req *aislepb.RecommendRequest) {
	for ctx.Err() == nil {
		resp, err := c.Recommend(ctx, req)
		if ctx.Err() != nil {
			return // the load's own end, not a failure
		}
		l.calls.Add(1)
		if err != nil || len(resp.Items) != int(req.K) {
			l.failures.Add(1)
			msg := fmt.Sprintf("%d items", len(resp.GetItems()))
			if err != nil {
				msg = err.Error()
			}
			l.firstErr.CompareAndSwap(nil, msg)
			continue
		}
		version := ""
		for _, m := range resp.Models {
			if strings.HasPrefix(m, "cart-gnn:") {
				version = m
			}
		}
		ids := make([]string, len(resp.Items))
		for i, it := range resp.Items {
			ids[i] = it.Id
		}
		l.mu.Lock()
		if l.answers[version] == nil {
			l.answers[version] = map[string]bool{}
		}
		l.answers[version][strings.Join(ids, ",")] = true
		l.mu.Unlock()
	}
}

func (l *swapLoad) seen(version string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.answers[version])
}

// TestHotSwapModelAndIndex: under concurrent Recommend calls through the
// real server, a new cart-gnn version with its own items.f32 (the rows of
// version 1 reversed) is published (its files written atomically, the
// model file last); the repository loads it, builds and swaps its index,
// and drops version 1, whose directory is then removed. No call fails;
// answers move to version 2's index (other items for the same cart); version
// 1's index is closed exactly once, after its last search, and version 2's
// stays open.
func TestHotSwapModelAndIndex(t *testing.T) {
	root, client, tracked := serveSwappable(t, nil)
	const gnnDim = 64
	if got := tracked.ofDim(gnnDim); len(got) != 1 {
		t.Fatalf("%d cart-gnn indexes after load, want 1", len(got))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	loadCtx, stop := context.WithCancel(ctx)
	load := &swapLoad{answers: map[string]map[string]bool{}}
	req := &aislepb.RecommendRequest{Surface: "cart", Cart: []string{"whole milk", "domestic eggs"},
		RecentViews: []string{"butter"}, K: 10}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { load.run(loadCtx, client, req) })
	}
	defer func() { stop(); wg.Wait() }()
	waitFor(ctx, t, "answers from version 1", func() bool { return load.calls.Load() >= 20 })

	// Publish version 2: its embeddings first, then the model file, each
	// by rename, so the poller never sees half a version.
	gnn := filepath.Join(root, "cart-gnn")
	emb, err := os.ReadFile(filepath.Join(gnn, "items.f32"))
	must(t, err)
	servetest.WriteFile(t, filepath.Join(gnn, "2", "items.f32"), reverseRows(t, emb))
	model, err := os.ReadFile(filepath.Join(gnn, "1", repository.DefaultModelFile))
	must(t, err)
	servetest.WriteFile(t, filepath.Join(gnn, "2", repository.DefaultModelFile), model)

	waitFor(ctx, t, "answers from version 2", func() bool { return load.seen("cart-gnn:2") > 0 })
	must(t, os.RemoveAll(filepath.Join(gnn, "1")))
	waitFor(ctx, t, "version 1's index closed", func() bool {
		built := tracked.ofDim(gnnDim)
		return len(built) == 2 && built[0].closed.Load() > 0
	})
	before := load.calls.Load()
	waitFor(ctx, t, "more answers after the swap", func() bool { return load.calls.Load() >= before+20 })
	stop()
	wg.Wait()

	if f := load.failures.Load(); f != 0 {
		t.Fatalf("%d of %d calls failed during the swap; first: %v", f, load.calls.Load(), load.firstErr.Load())
	}
	t.Logf("%d calls, answers by version: v1 %d distinct, v2 %d distinct", load.calls.Load(),
		load.seen("cart-gnn:1"), load.seen("cart-gnn:2"))
	if len(load.answers) != 2 || load.seen("cart-gnn:1") == 0 {
		t.Fatalf("answers by version: %v", load.answers)
	}
	for a := range load.answers["cart-gnn:2"] {
		if load.answers["cart-gnn:1"][a] {
			t.Errorf("version 2 answered as version 1 did (%s): its index was not swapped", a)
		}
	}
	built := tracked.ofDim(gnnDim)
	if len(built) != 2 {
		t.Fatalf("%d cart-gnn indexes built, want 2", len(built))
	}
	if c := built[0].closed.Load(); c != 1 {
		t.Errorf("version 1's index closed %d times, want 1", c)
	}
	if n := built[0].afterClosed.Load(); n != 0 {
		t.Errorf("version 1's index searched %d times after Close: not drained", n)
	}
	if c := built[1].closed.Load(); c != 0 {
		t.Errorf("version 2's index closed %d times while serving", c)
	}
}
