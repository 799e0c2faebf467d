package batching

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/aisle-ai/aisle/tensor"
)

// TestCloseDrains checks that Close refuses new requests, runs everything
// already queued (without waiting out MaxQueueDelay) and returns nil.
func TestCloseDrains(t *testing.T) {
	ctx := testContext(t)
	r := &echoRunner{gate: newGate()}
	s := newTestScheduler(t, echoCfg(4, &Dynamic{MaxQueueDelay: forever}), runnersOf(r), nil)

	done := []<-chan outcome{inferAsync(ctx, s, echoReq(0))}
	r.gate.next(ctx, t)
	for i, v := range []float32{1, 2} {
		done = append(done, inferAsync(ctx, s, echoReq(v)))
		waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == i+1 })
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close(ctx) }()
	waitUntil(ctx, t, "closing", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.closed
	})
	if _, err := s.Infer(ctx, echoReq(9)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Infer while closing: %v, want ErrClosed", err)
	}
	r.gate.open(2)
	for _, c := range done {
		if o := recv(ctx, t, c); o.err != nil {
			t.Fatalf("queued request: %v", o.err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := r.seen(); !slices.EqualFunc(got, [][]float32{{0}, {1, 2}}, slices.Equal) {
		t.Errorf("batches %v", got)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Infer(ctx, echoReq(9)); !errors.Is(err, ErrClosed) {
		t.Errorf("Infer after Close: %v, want ErrClosed", err)
	}
}

// TestCloseDeadline checks that when Close's context ends first, queued
// requests fail with ErrClosed, the runners' context is cancelled, and Close
// returns the context error once the workers are gone.
func TestCloseDeadline(t *testing.T) {
	ctx := testContext(t)
	r := &echoRunner{gate: newGate()} // never released: only its context ends it
	s := newTestScheduler(t, echoCfg(4, &Dynamic{PreserveOrdering: true}), runnersOf(r), nil)

	running := inferAsync(ctx, s, echoReq(0))
	r.gate.next(ctx, t)
	queued := inferAsync(ctx, s, echoReq(1))
	waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == 1 })

	cctx, cancel := context.WithCancel(ctx)
	closed := make(chan error, 1)
	go func() { closed <- s.Close(cctx) }()
	cancel()
	if err := <-closed; !errors.Is(err, context.Canceled) {
		t.Fatalf("Close: %v, want context.Canceled", err)
	}
	if o := recv(ctx, t, queued); !errors.Is(o.err, ErrClosed) {
		t.Errorf("queued request: %v, want ErrClosed", o.err)
	}
	if o := recv(ctx, t, running); !errors.Is(o.err, context.Canceled) {
		t.Errorf("running request: %v, want the runner's context.Canceled", o.err)
	}
}

// TestWithoutBatching checks the two paths where requests never share a
// batch: MaxBatchSize 0 (tensors reach the runner unchanged, no batch
// dimension) and Dynamic nil.
func TestWithoutBatching(t *testing.T) {
	cases := []struct {
		name     string
		maxBatch int
		dyn      *Dynamic
		shape    func(i int) []int64
	}{
		{"max batch 0", 0, nil, func(i int) []int64 { return []int64{int64(1 + i%3), 2} }},
		{"max batch 0 with dynamic", 0, &Dynamic{MaxQueueDelay: forever}, func(i int) []int64 { return []int64{2, int64(1 + i%3)} }},
		{"dynamic nil", 4, nil, func(i int) []int64 { return []int64{int64(1 + i%4), 2} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			runners := []*idRunner{{}, {}}
			cfg := Config{
				Model: "plain", MaxBatchSize: tc.maxBatch, Dynamic: tc.dyn,
				Inputs:  []InputSpec{{Name: "a", DType: tensor.FP32}},
				Outputs: []OutputSpec{{Name: "b"}},
			}
			s := newTestScheduler(t, cfg, runnersOf(runners...), nil)
			const n = 60
			reqs := make([]Request, n)
			var wg sync.WaitGroup
			for i := range reqs {
				shape := tc.shape(i)
				data := make([]float32, tensor.NumElements(shape))
				for k := range data {
					data[k] = float32(i*100 + k)
				}
				reqs[i] = Request{Inputs: []tensor.Tensor{tensor.FromSlice("a", shape, data)}}
				wg.Go(func() {
					outs, err := s.Infer(ctx, reqs[i])
					if err != nil {
						t.Errorf("request %d: %v", i, err)
						return
					}
					want := tensor.FromSlice("b", shape, data)
					if err := equalTensors(outs, []tensor.Tensor{want}); err != nil {
						t.Errorf("request %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			calls := 0
			for _, r := range runners {
				for _, b := range r.seen() {
					calls++
					if !slices.ContainsFunc(reqs, func(q Request) bool {
						return equalTensors(b, q.Inputs) == nil
					}) {
						t.Errorf("runner input %v is not exactly one request's", b[0].Shape)
					}
				}
			}
			if calls != n {
				t.Errorf("%d runner calls for %d requests", calls, n)
			}
		})
	}
}

// TestDeepMixedQueue checks that a queue far deeper than the formation scan
// limit, alternating two incompatible shapes, still runs every request in
// homogeneous batches.
func TestDeepMixedQueue(t *testing.T) {
	ctx := testContext(t)
	hold := make(chan struct{})
	started := make(chan struct{}, 4096)
	r := &idRunner{hold: hold, started: started}
	cfg := Config{
		Model: "deep", MaxBatchSize: 4, Dynamic: &Dynamic{},
		Inputs:  []InputSpec{{Name: "a", DType: tensor.FP32}},
		Outputs: []OutputSpec{{Name: "a"}},
	}
	s := newTestScheduler(t, cfg, runnersOf(r), nil)
	req := func(i int) Request {
		width := 1 + i%2
		data := make([]float32, width)
		data[0] = float32(i)
		return Request{Inputs: []tensor.Tensor{tensor.FromSlice("a", []int64{1, int64(width)}, data)}}
	}
	n := 3 * s.scanLimit
	done := []<-chan outcome{inferAsync(ctx, s, req(0))}
	<-started
	for i := 1; i <= n; i++ {
		done = append(done, inferAsync(ctx, s, req(i)))
	}
	waitUntil(ctx, t, "all queued", func() bool { return queuedCount(s) == n })
	close(hold)
	for i, c := range done {
		o := recv(ctx, t, c)
		if o.err != nil {
			t.Fatalf("request %d: %v", i, o.err)
		}
		if err := equalTensors(o.outs, req(i).Inputs); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	for _, b := range r.seen() {
		if b[0].Shape[0] > 4 {
			t.Errorf("batch of %d rows", b[0].Shape[0])
		}
	}
}
