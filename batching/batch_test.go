package batching

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/tensor"
)

// TestBatchedEqualsUnbatched checks that every request gets exactly the
// outputs the model computes for it alone, whatever batches it ran in.
func TestBatchedEqualsUnbatched(t *testing.T) {
	const n = 160
	type pattern int
	const (
		concurrent pattern = iota // all requests at once from their own goroutines
		sequential                // one request at a time
		burst                     // all queued behind held runners, then released together
		waves                     // concurrent waves of 10
	)
	mixed := []int{1, 2, 3, 5, 8, 9, 10, 11, 16, 17, 19, 24, 31, 33, 40}
	cases := []struct {
		name      string
		maxBatch  int
		instances int
		dyn       *Dynamic
		pattern   pattern
		lengths   []int
	}{
		{"no dynamic/sequential", 4, 1, nil, sequential, mixed},
		{"no dynamic/concurrent", 4, 2, nil, concurrent, mixed},
		{"max1/concurrent", 1, 2, &Dynamic{}, concurrent, mixed},
		{"max2/burst/fixed length", 2, 1, &Dynamic{}, burst, []int{7}},
		{"max8/burst/fixed length", 8, 1, &Dynamic{}, burst, []int{12}},
		{"max8/burst/mixed", 8, 1, &Dynamic{}, burst, mixed},
		{"max8/burst/mixed/3 instances", 8, 3, &Dynamic{}, burst, mixed},
		{"max8/concurrent/mixed", 8, 2, &Dynamic{MaxQueueDelay: 200 * time.Microsecond}, concurrent, mixed},
		{"max8/waves/preferred", 8, 2, &Dynamic{PreferredBatchSizes: []int{4, 6}, MaxQueueDelay: 100 * time.Microsecond}, waves, mixed},
		{"max5/burst/preferred", 5, 1, &Dynamic{PreferredBatchSizes: []int{3}}, burst, []int{4, 9, 10}},
		{"max16/burst/priorities", 16, 2, &Dynamic{PriorityLevels: 3, DefaultPriorityLevel: 2}, burst, mixed},
		{"max6/concurrent/preserve ordering", 6, 3, &Dynamic{PreserveOrdering: true}, concurrent, mixed},
		{"max6/burst/preserve ordering", 6, 2, &Dynamic{PreserveOrdering: true}, burst, mixed},
		{"max3/sequential/delay", 3, 1, &Dynamic{MaxQueueDelay: time.Millisecond}, sequential, mixed},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			rng := rand.New(rand.NewPCG(uint64(ci), 42))
			hold := make(chan struct{})
			runners := make([]*toyRunner, tc.instances)
			for i := range runners {
				runners[i] = &toyRunner{}
				if tc.pattern == burst {
					runners[i].hold = hold
				}
			}
			s := newTestScheduler(t, toyCfg(tc.maxBatch, tc.dyn), runnersOf(runners...), nil)

			reqs := make([]Request, n)
			totalRows := 0
			for i := range reqs {
				rows := 1 + rng.IntN(min(tc.maxBatch, 3))
				reqs[i] = toyReq(rng, rows, tc.lengths[rng.IntN(len(tc.lengths))])
				reqs[i].Priority = rng.IntN(4)
				totalRows += rows
			}
			got := make([]outcome, n)
			infer := func(i int) {
				outs, err := s.Infer(ctx, reqs[i])
				got[i] = outcome{outs, err}
			}
			var wg sync.WaitGroup
			switch tc.pattern {
			case sequential:
				for i := range reqs {
					infer(i)
				}
			case concurrent, burst:
				for i := range reqs {
					wg.Go(func() { infer(i) })
				}
				if tc.pattern == burst {
					waitUntil(ctx, t, "all rows queued or started", func() bool {
						started := 0
						for _, r := range runners {
							started += int(r.started.Load())
						}
						return started+queuedRows(s) == totalRows
					})
					close(hold)
				}
			case waves:
				for lo := 0; lo < n; lo += 10 {
					for i := lo; i < min(lo+10, n); i++ {
						wg.Go(func() { infer(i) })
					}
					wg.Wait()
				}
			}
			wg.Wait()

			for i, o := range got {
				if o.err != nil {
					t.Fatalf("request %d: %v", i, o.err)
				}
				if err := equalTensors(o.outs, toyWant(reqs[i])); err != nil {
					t.Fatalf("request %d (rows %d, length %d): %v", i, reqs[i].Inputs[0].Shape[0], reqs[i].Inputs[1].Shape[1], err)
				}
			}
			batchedRows, multi := 0, false
			for _, r := range runners {
				for _, b := range r.seen() {
					if b[0] > tc.maxBatch {
						t.Errorf("batch of %d rows exceeds max %d", b[0], tc.maxBatch)
					}
					batchedRows += b[0]
				}
				r.mu.Lock()
				for _, in := range r.inputs {
					multi = multi || in[0].Shape[0] > 3
				}
				r.mu.Unlock()
			}
			if batchedRows != totalRows {
				t.Errorf("runners saw %d rows, requests had %d", batchedRows, totalRows)
			}
			if tc.pattern == burst && tc.maxBatch >= 4 && !multi {
				t.Errorf("a burst of %d requests never formed a batch of more than 3 rows", n)
			}
			if st := s.Stats(); st.Success.Count != n || st.InferenceCount != uint64(totalRows) {
				t.Errorf("stats: %d successes / %d rows, want %d / %d", st.Success.Count, st.InferenceCount, n, totalRows)
			}
		})
	}
}

// TestRaggedPadding checks the padded batch the runner sees: each request's
// rows in order, ragged positions past its length filled with PadValue.
func TestRaggedPadding(t *testing.T) {
	ctx := testContext(t)
	hold := make(chan struct{})
	r := &toyRunner{hold: hold}
	s := newTestScheduler(t, toyCfg(8, &Dynamic{}), runnersOf(r), nil)
	rng := rand.New(rand.NewPCG(1, 2))

	first := inferAsync(ctx, s, toyReq(rng, 1, 3)) // occupies the runner
	waitUntil(ctx, t, "first batch", func() bool { return r.started.Load() == 1 })
	a, b := toyReq(rng, 2, 9), toyReq(rng, 1, 10) // one bucket: 9–10
	ca := inferAsync(ctx, s, a)
	waitUntil(ctx, t, "a queued", func() bool { return queuedCount(s) == 1 })
	cb := inferAsync(ctx, s, b)
	waitUntil(ctx, t, "b queued", func() bool { return queuedCount(s) == 2 })
	close(hold)
	for _, c := range []<-chan outcome{first, ca, cb} {
		if o := recv(ctx, t, c); o.err != nil {
			t.Fatal(o.err)
		}
	}
	r.mu.Lock()
	in := r.inputs[1]
	r.mu.Unlock()
	if got := []int64{in[1].Shape[0], in[1].Shape[1]}; !slices.Equal(got, []int64{3, 10}) {
		t.Fatalf("batched ids shape %v, want [3 10]", in[1].Shape)
	}
	ids, mask := tensor.View[int64](in[1].Data), tensor.View[int32](in[2].Data)
	aids, amask := tensor.View[int64](a.Inputs[1].Data), tensor.View[int32](a.Inputs[2].Data)
	bids, bmask := tensor.View[int64](b.Inputs[1].Data), tensor.View[int32](b.Inputs[2].Data)
	wantIDs := slices.Concat(aids[:9], []int64{-1}, aids[9:], []int64{-1}, bids)
	wantMask := slices.Concat(amask[:9], []int32{0}, amask[9:], []int32{0}, bmask)
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("batched ids\n got %v\nwant %v", ids, wantIDs)
	}
	if !slices.Equal(mask, wantMask) {
		t.Errorf("batched mask\n got %v\nwant %v", mask, wantMask)
	}
	wantX := slices.Concat(tensor.View[float32](a.Inputs[0].Data), tensor.View[float32](b.Inputs[0].Data))
	if x := tensor.View[float32](in[0].Data); !slices.Equal(x, wantX) {
		t.Errorf("batched x %v, want %v", x, wantX)
	}
}

// TestLengthBuckets checks that a queue of mixed lengths runs bucket by
// bucket, each bucket in the order of its oldest request.
func TestLengthBuckets(t *testing.T) {
	ctx := testContext(t)
	hold := make(chan struct{})
	r := &toyRunner{hold: hold}
	s := newTestScheduler(t, toyCfg(8, &Dynamic{}), runnersOf(r), nil)
	rng := rand.New(rand.NewPCG(3, 4))

	done := []<-chan outcome{inferAsync(ctx, s, toyReq(rng, 1, 3))}
	waitUntil(ctx, t, "first batch", func() bool { return r.started.Load() == 1 })
	for i, l := range []int{9, 17, 10, 20, 12, 40, 11, 13} {
		done = append(done, inferAsync(ctx, s, toyReq(rng, 1, l)))
		waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == i+1 })
	}
	close(hold)
	for _, c := range done {
		if o := recv(ctx, t, c); o.err != nil {
			t.Fatal(o.err)
		}
	}
	// Buckets: 9,10 → 9–10; 17,20 → 17–20; 12,11 → 11–12; 40 → 33–40; 13 → 13–14.
	want := [][2]int{{1, 3}, {2, 10}, {2, 20}, {2, 12}, {1, 40}, {1, 13}}
	if got := r.seen(); !slices.Equal(got, want) {
		t.Errorf("batches (rows, padded length) %v, want %v", got, want)
	}
}

func TestLengthBucket(t *testing.T) {
	cases := []struct{ n, want int }{
		{0, 0}, {1, 1}, {7, 7}, {8, 8}, {9, 10}, {10, 10}, {11, 12}, {16, 16},
		{17, 20}, {20, 20}, {21, 24}, {32, 32}, {33, 40}, {100, 112}, {128, 128}, {129, 160}, {512, 512},
	}
	for _, tc := range cases {
		if got := lengthBucket(tc.n); got != tc.want {
			t.Errorf("lengthBucket(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	for n := 9; n < 5000; n++ {
		if b := lengthBucket(n); b < n || float64(b-n) >= 0.25*float64(n) {
			t.Fatalf("lengthBucket(%d) = %d: padding not under 25%%", n, b)
		}
	}
}

func TestPadBytes(t *testing.T) {
	cases := []struct {
		d    tensor.DType
		v    float64
		want []byte
	}{
		{tensor.Bool, 1, []byte{1}},
		{tensor.Bool, 0, []byte{0}},
		{tensor.Uint8, 255, []byte{255}},
		{tensor.Int8, -1, []byte{0xff}},
		{tensor.Int16, -2, []byte{0xfe, 0xff}},
		{tensor.Uint16, 258, []byte{2, 1}},
		{tensor.Int32, -1, []byte{0xff, 0xff, 0xff, 0xff}},
		{tensor.Uint32, 1, []byte{1, 0, 0, 0}},
		{tensor.Int64, 3.9, []byte{3, 0, 0, 0, 0, 0, 0, 0}},
		{tensor.Uint64, 2, []byte{2, 0, 0, 0, 0, 0, 0, 0}},
		{tensor.FP16, 0.5, []byte{0x00, 0x38}},
		{tensor.BF16, 1, []byte{0x80, 0x3f}},
		{tensor.BF16, -2, []byte{0x00, 0xc0}},
		{tensor.FP32, -1.5, []byte{0, 0, 0xc0, 0xbf}},
		{tensor.FP64, 1, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
	}
	for _, tc := range cases {
		var buf [8]byte
		if got := padBytes(&buf, tc.d, tc.v); !slices.Equal(got, tc.want) {
			t.Errorf("padBytes(%v, %v) = % x, want % x", tc.d, tc.v, got, tc.want)
		}
	}
	dst := make([]byte, 12)
	fill(dst, []byte{1, 2, 3, 4})
	if want := []byte{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}; !slices.Equal(dst, want) {
		t.Errorf("fill = %v, want %v", dst, want)
	}
}

// idRunner returns its inputs as its outputs (copied into reused buffers),
// records each batch's inputs and, with a hold channel, waits until it is
// closed.
type idRunner struct {
	hold    <-chan struct{}
	started chan struct{}
	bufs    [][]byte

	mu      sync.Mutex // guards batches
	batches [][]tensor.Tensor
}

func (r *idRunner) Run(_ context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
	cp := make([]tensor.Tensor, len(in))
	for i, t := range in {
		cp[i] = tensor.Tensor{Name: t.Name, DType: t.DType, Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data), Strings: slices.Clone(t.Strings)}
	}
	r.mu.Lock()
	r.batches = append(r.batches, cp)
	r.mu.Unlock()
	if r.started != nil {
		r.started <- struct{}{}
	}
	if r.hold != nil {
		<-r.hold
	}
	if len(r.bufs) < len(in) {
		r.bufs = make([][]byte, len(in))
	}
	out := make([]tensor.Tensor, len(in))
	for i, t := range in {
		r.bufs[i] = append(r.bufs[i][:0], t.Data...)
		out[i] = tensor.Tensor{Name: "out", DType: t.DType, Shape: t.Shape, Data: r.bufs[i], Strings: t.Strings}
	}
	return out, nil
}

func (r *idRunner) seen() [][]tensor.Tensor {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// TestIncompatibleNeverShare checks that requests whose types or non-batch
// dimensions differ run in separate batches, and that BYTES inputs batch.
func TestIncompatibleNeverShare(t *testing.T) {
	ctx := testContext(t)
	hold := make(chan struct{})
	started := make(chan struct{}, 16)
	r := &idRunner{hold: hold, started: started}
	cfg := Config{
		Model: "any", MaxBatchSize: 8, Dynamic: &Dynamic{},
		Inputs:  []InputSpec{{Name: "a"}, {Name: "s", DType: tensor.Bytes}},
		Outputs: []OutputSpec{{Name: "a"}, {Name: "s"}},
	}
	s := newTestScheduler(t, cfg, runnersOf(r), nil)
	str := func(v ...string) tensor.Tensor {
		b := make([][]byte, len(v))
		for i := range v {
			b[i] = []byte(v[i])
		}
		return tensor.Tensor{DType: tensor.Bytes, Shape: []int64{int64(len(v))}, Strings: b}
	}
	reqs := []Request{
		{Inputs: []tensor.Tensor{tensor.FromSlice("a", []int64{1, 2}, []float32{1, 2}), str("p")}}, // occupies the runner
		{Inputs: []tensor.Tensor{tensor.FromSlice("a", []int64{1, 2}, []float32{3, 4}), str("q")}},
		{Inputs: []tensor.Tensor{tensor.FromSlice("a", []int64{1, 3}, []float32{5, 6, 7}), str("r")}},
		{Inputs: []tensor.Tensor{tensor.FromSlice("a", []int64{1, 2}, []float64{8, 9}), str("s")}},
		{Inputs: []tensor.Tensor{tensor.FromSlice("a", []int64{2, 2}, []float32{10, 11, 12, 13}), str("t", "u")}},
		{Inputs: []tensor.Tensor{tensor.FromSlice("a", []int64{1, 2}, []int32{14, 15}), str("v")}},
	}
	done := []<-chan outcome{inferAsync(ctx, s, reqs[0])}
	<-started
	for i, req := range reqs[1:] {
		done = append(done, inferAsync(ctx, s, req))
		waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == i+1 })
	}
	close(hold)
	for i, c := range done {
		o := recv(ctx, t, c)
		if o.err != nil {
			t.Fatal(o.err)
		}
		want := slices.Clone(reqs[i].Inputs)
		want[0].Name, want[1].Name = "a", "s"
		if err := equalTensors(o.outs, want); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	var rows []int64
	for _, b := range r.seen() {
		rows = append(rows, b[0].Shape[0])
	}
	// p alone; q with t,u (FP32 [_,2]); r (FP32 [_,3]); s (FP64); v (INT32).
	if want := []int64{1, 3, 1, 1, 1}; !slices.Equal(rows, want) {
		t.Errorf("batch rows %v, want %v", rows, want)
	}
}
