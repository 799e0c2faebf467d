package batching

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/aisle-ai/aisle/tensor"
)

// testTimeout bounds every test context; it is a safety net against hangs,
// never an assertion on speed.
const testTimeout = 60 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newTestScheduler builds a scheduler and, at cleanup, closes it and checks
// that no goroutine leaked.
func newTestScheduler(t *testing.T, cfg Config, runners []Runner, m *Metrics) *Scheduler {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s, err := New(cfg, runners, m)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// waitUntil polls cond until it holds; the context bounds it against hangs.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(100 * time.Microsecond):
		}
	}
}

func queuedRows(s *Scheduler) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range s.lists {
		for e := s.lists[i].head; e != nil; e = e.next {
			n += e.rows
		}
	}
	return n
}

func queuedCount(s *Scheduler) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued
}

func delayedCount(s *Scheduler) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := 1; i < len(s.lists); i += 2 {
		for e := s.lists[i].head; e != nil; e = e.next {
			n++
		}
	}
	return n
}

// gate makes runners block until the test lets each batch through.
type gate struct {
	started chan []float32 // receives the "x" column of each batch when it starts
	release chan struct{}  // one value lets one batch finish
}

func newGate() *gate {
	return &gate{started: make(chan []float32, 1024), release: make(chan struct{}, 1024)}
}

func (g *gate) open(n int) {
	for range n {
		g.release <- struct{}{}
	}
}

// next returns the x values of the next batch to start.
func (g *gate) next(ctx context.Context, t *testing.T) []float32 {
	t.Helper()
	select {
	case x := <-g.started:
		return x
	case <-ctx.Done():
		t.Fatalf("waiting for a batch: %v", ctx.Err())
		return nil
	}
}

// echoCfg is a model with input x FP32 [-1, 1] and output y = x.
func echoCfg(maxBatch int, d *Dynamic) Config {
	return Config{
		Model: "echo", Version: 1, MaxBatchSize: maxBatch, Dynamic: d,
		Inputs:  []InputSpec{{Name: "x", DType: tensor.FP32}},
		Outputs: []OutputSpec{{Name: "y"}},
	}
}

// echoRunner returns its input x as y, in a buffer it reuses across calls.
// It records every batch's x values and, with a gate, blocks until released.
type echoRunner struct {
	gate *gate
	busy atomic.Bool
	out  []float32

	mu      sync.Mutex // guards batches
	batches [][]float32
}

func (r *echoRunner) Run(ctx context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
	if !r.busy.CompareAndSwap(false, true) {
		return nil, errors.New("echoRunner: concurrent Run calls on one runner")
	}
	defer r.busy.Store(false)
	if len(in) != 1 || in[0].Name != "x" {
		return nil, fmt.Errorf("echoRunner: bad inputs %v", in)
	}
	x := slices.Clone(tensor.View[float32](in[0].Data))
	r.mu.Lock()
	r.batches = append(r.batches, x)
	r.mu.Unlock()
	if r.gate != nil {
		r.gate.started <- x
		select {
		case <-r.gate.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r.out = append(r.out[:0], x...)
	return []tensor.Tensor{tensor.FromSlice("y", slices.Clone(in[0].Shape), r.out)}, nil
}

func (r *echoRunner) seen() [][]float32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// echoReq is a request of the echo model holding the given x values, one per
// row.
func echoReq(x ...float32) Request {
	return Request{Inputs: []tensor.Tensor{tensor.FromSlice("x", []int64{int64(len(x)), 1}, x)}}
}

// inferAsync runs Infer in a goroutine and returns a channel with its
// outcome.
type outcome struct {
	outs []tensor.Tensor
	err  error
}

func inferAsync(ctx context.Context, s *Scheduler, req Request) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		outs, err := s.Infer(ctx, req)
		ch <- outcome{outs, err}
	}()
	return ch
}

func recv(ctx context.Context, t *testing.T, ch <-chan outcome) outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-ctx.Done():
		t.Fatalf("waiting for Infer: %v", ctx.Err())
		return outcome{}
	}
}

// ----- the toy model: mixed dtypes, ragged inputs and outputs -----

// toyCfg is a model with inputs x FP32 [-1, 3], ids INT64 [-1, -1] (ragged,
// pad -1) and mask INT32 [-1, -1] (ragged, pad 0), and outputs
//
//	y FP32 [-1, 3]     = 2x + 1 + sum(ids*mask) over the row
//	h FP32 [-1, -1, 2] = (ids, x[0] + position) per position (ragged)
//	n INT64 [-1]       = sum(mask) over the row
//
// Non-ragged outputs read padded positions only through the mask, so they
// are wrong if padding is.
func toyCfg(maxBatch int, d *Dynamic) Config {
	return Config{
		Model: "toy", Version: 3, MaxBatchSize: maxBatch, Dynamic: d,
		Inputs: []InputSpec{
			{Name: "x", DType: tensor.FP32},
			{Name: "ids", DType: tensor.Int64, Ragged: true, PadValue: -1},
			{Name: "mask", DType: tensor.Int32, Ragged: true},
		},
		Outputs: []OutputSpec{{Name: "y"}, {Name: "h", Ragged: true}, {Name: "n"}},
	}
}

// toyRunner computes the toy model into buffers it reuses across calls.
type toyRunner struct {
	hold    <-chan struct{} // if non-nil, Run waits until it is closed
	started atomic.Int64    // rows of the batches started
	busy    atomic.Bool
	y, h    []float32
	n       []int64

	mu      sync.Mutex // guards batches and inputs
	batches [][2]int   // rows and padded length of each batch
	inputs  [][]tensor.Tensor
}

func (r *toyRunner) seen() [][2]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func (r *toyRunner) Run(_ context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
	if !r.busy.CompareAndSwap(false, true) {
		return nil, errors.New("toyRunner: concurrent Run calls on one runner")
	}
	defer r.busy.Store(false)
	if len(in) != 3 || in[0].Name != "x" || in[1].Name != "ids" || in[2].Name != "mask" {
		return nil, fmt.Errorf("toyRunner: bad inputs")
	}
	b, l := in[0].Shape[0], in[1].Shape[1]
	if !slices.Equal(in[0].Shape, []int64{b, 3}) || !slices.Equal(in[1].Shape, []int64{b, l}) || !slices.Equal(in[2].Shape, []int64{b, l}) {
		return nil, fmt.Errorf("toyRunner: inconsistent shapes %v %v %v", in[0].Shape, in[1].Shape, in[2].Shape)
	}
	r.mu.Lock()
	r.batches = append(r.batches, [2]int{int(b), int(l)})
	cp := make([]tensor.Tensor, len(in))
	for i, t := range in {
		cp[i] = tensor.Tensor{Name: t.Name, DType: t.DType, Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
	}
	r.inputs = append(r.inputs, cp)
	r.mu.Unlock()
	r.started.Add(b)
	if r.hold != nil {
		<-r.hold
	}
	var outs [3]tensor.Tensor
	r.y, r.h, r.n, outs = toyCompute(in, r.y[:0], r.h[:0], r.n[:0])
	return outs[:], nil
}

// toyCompute is the toy model, appending to the given buffers.
func toyCompute(in []tensor.Tensor, y, h []float32, n []int64) ([]float32, []float32, []int64, [3]tensor.Tensor) {
	b, l := int(in[0].Shape[0]), int(in[1].Shape[1])
	x := tensor.View[float32](in[0].Data)
	ids := tensor.View[int64](in[1].Data)
	mask := tensor.View[int32](in[2].Data)
	for i := range b {
		var sum, cnt int64
		for p := range l {
			sum += ids[i*l+p] * int64(mask[i*l+p])
			cnt += int64(mask[i*l+p])
			h = append(h, float32(ids[i*l+p]), x[i*3]+float32(p))
		}
		for c := range 3 {
			y = append(y, 2*x[i*3+c]+1+float32(sum))
		}
		n = append(n, cnt)
	}
	return y, h, n, [3]tensor.Tensor{
		tensor.FromSlice("y", []int64{int64(b), 3}, y),
		tensor.FromSlice("h", []int64{int64(b), int64(l), 2}, h),
		tensor.FromSlice("n", []int64{int64(b)}, n),
	}
}

// toyReq builds a random toy request of the given rows and length.
func toyReq(rng *rand.Rand, rows, length int) Request {
	x := make([]float32, rows*3)
	for i := range x {
		x[i] = float32(rng.IntN(1000)) / 8
	}
	ids := make([]int64, rows*length)
	mask := make([]int32, rows*length)
	for i := range ids {
		ids[i] = rng.Int64N(30000)
		if rng.IntN(5) > 0 {
			mask[i] = 1
		}
	}
	return Request{Inputs: []tensor.Tensor{
		tensor.FromSlice("x", []int64{int64(rows), 3}, x),
		tensor.FromSlice("ids", []int64{int64(rows), int64(length)}, ids),
		tensor.FromSlice("mask", []int64{int64(rows), int64(length)}, mask),
	}}
}

// toyWant is the unbatched result of req.
func toyWant(req Request) []tensor.Tensor {
	_, _, _, outs := toyCompute(req.Inputs, nil, nil, nil)
	return outs[:]
}

func equalTensors(got, want []tensor.Tensor) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := &got[i], &want[i]
		switch {
		case g.Name != w.Name:
			return fmt.Errorf("tensor %d: name %q, want %q", i, g.Name, w.Name)
		case g.DType != w.DType:
			return fmt.Errorf("%s: dtype %v, want %v", w.Name, g.DType, w.DType)
		case !slices.Equal(g.Shape, w.Shape):
			return fmt.Errorf("%s: shape %v, want %v", w.Name, g.Shape, w.Shape)
		case string(g.Data) != string(w.Data):
			return fmt.Errorf("%s: data differs", w.Name)
		case len(g.Strings) != len(w.Strings):
			return fmt.Errorf("%s: %d strings, want %d", w.Name, len(g.Strings), len(w.Strings))
		}
		for k := range g.Strings {
			if string(g.Strings[k]) != string(w.Strings[k]) {
				return fmt.Errorf("%s: string %d = %q, want %q", w.Name, k, g.Strings[k], w.Strings[k])
			}
		}
	}
	return nil
}

func runnersOf[R Runner](rs ...R) []Runner {
	out := make([]Runner, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

func randFor(i int) *rand.Rand { return rand.New(rand.NewPCG(uint64(i), 99)) }
