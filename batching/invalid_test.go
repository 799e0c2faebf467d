package batching

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/tensor"
)

func TestNewRejectsBadConfig(t *testing.T) {
	ok := toyCfg(8, &Dynamic{})
	cases := []struct {
		name    string
		edit    func(*Config)
		runners []Runner
		want    string
	}{
		{"no runners", func(*Config) {}, []Runner{}, "no runners"},
		{"nil runner", func(*Config) {}, []Runner{nil}, "runner 0 is nil"},
		{"negative max batch", func(c *Config) { c.MaxBatchSize = -1 }, nil, "negative"},
		{"no outputs", func(c *Config) { c.Outputs = nil }, nil, "no outputs"},
		{"no inputs", func(c *Config) { c.Inputs = nil; c.Outputs = []OutputSpec{{Name: "y"}} }, nil, "at least one input"},
		{"ragged without batch", func(c *Config) { c.MaxBatchSize = 0; c.Dynamic = nil }, nil, "no batch dimension"},
		{"ragged output alone", func(c *Config) { c.Inputs = c.Inputs[:1] }, nil, "no input is"},
		{"preferred too big", func(c *Config) { c.Dynamic.PreferredBatchSizes = []int{9} }, nil, "preferred batch size 9"},
		{"preferred zero", func(c *Config) { c.Dynamic.PreferredBatchSizes = []int{0} }, nil, "preferred batch size 0"},
		{"negative delay", func(c *Config) { c.Dynamic.MaxQueueDelay = -time.Second }, nil, "delay"},
		{"default level out of range", func(c *Config) { c.Dynamic.PriorityLevels = 2; c.Dynamic.DefaultPriorityLevel = 3 }, nil, "default priority level 3"},
		{"policy level out of range", func(c *Config) {
			c.Dynamic.PriorityLevels = 2
			c.Dynamic.PriorityQueuePolicy = map[int]QueuePolicy{3: {}}
		}, nil, "level 3"},
		{"bad timeout action", func(c *Config) { c.Dynamic.DefaultQueuePolicy.TimeoutAction = 7 }, nil, "timeout action"},
		{"negative queue size", func(c *Config) { c.Dynamic.DefaultQueuePolicy.MaxQueueSize = -1 }, nil, "max queue size"},
		{"bad dtype", func(c *Config) { c.Inputs[0].DType = 99 }, nil, "datatype"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			d := *ok.Dynamic
			cfg.Dynamic = &d
			cfg.Inputs = append([]InputSpec(nil), ok.Inputs...)
			tc.edit(&cfg)
			runners := tc.runners
			if runners == nil {
				runners = []Runner{&toyRunner{}}
			}
			s, err := New(cfg, runners, nil)
			if err == nil {
				_ = s.Close(context.Background())
				t.Fatal("New accepted the config")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestInvalidRequests checks that malformed requests fail with
// ErrInvalidInput and never reach the runner or panic.
func TestInvalidRequests(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	good := func() Request { return toyReq(rng, 2, 4) }
	cases := []struct {
		name string
		edit func(*Request)
	}{
		{"too few inputs", func(r *Request) { r.Inputs = r.Inputs[:2] }},
		{"no inputs", func(r *Request) { r.Inputs = nil }},
		{"wrong dtype", func(r *Request) { r.Inputs[0].DType = tensor.FP64 }},
		{"short data", func(r *Request) { r.Inputs[0].Data = r.Inputs[0].Data[:5] }},
		{"negative dimension", func(r *Request) { r.Inputs[0].Shape = []int64{-2, -3} }},
		{"scalar", func(r *Request) { r.Inputs[0].Shape, r.Inputs[0].Data = nil, r.Inputs[0].Data[:4] }},
		{"zero rows", func(r *Request) {
			for i := range r.Inputs {
				r.Inputs[i].Shape[0], r.Inputs[i].Data = 0, nil
			}
		}},
		{"rows disagree", func(r *Request) { r.Inputs[0].Shape, r.Inputs[0].Data = []int64{1, 3}, r.Inputs[0].Data[:12] }},
		{"too many rows", func(r *Request) { *r = toyReq(rng, 9, 2) }},
		{"ragged lengths disagree", func(r *Request) { r.Inputs[2] = toyReq(rng, 2, 5).Inputs[2] }},
		{"ragged rank 1", func(r *Request) { r.Inputs[1].Shape, r.Inputs[1].Data = []int64{2}, r.Inputs[1].Data[:16] }},
		{"bytes without strings", func(r *Request) { r.Inputs[0].DType = tensor.Bytes }},
		{"negative timeout", func(r *Request) { r.Timeout = -time.Second }},
	}
	ctx := testContext(t)
	runner := &toyRunner{}
	s := newTestScheduler(t, toyCfg(8, &Dynamic{}), runnersOf(runner), nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := good()
			tc.edit(&req)
			if _, err := s.Infer(ctx, req); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("Infer: %v, want ErrInvalidInput", err)
			}
		})
	}
	if n := len(runner.seen()); n != 0 {
		t.Errorf("runner ran %d batches of invalid requests", n)
	}
	if _, err := s.Infer(ctx, good()); err != nil {
		t.Errorf("valid request after invalid ones: %v", err)
	}
}

// funcRunner runs a function.
type funcRunner func(ctx context.Context, in []tensor.Tensor) ([]tensor.Tensor, error)

func (f funcRunner) Run(ctx context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
	return f(ctx, in)
}

// TestBadRunnerOutputs checks that a runner error, panic or malformed
// output fails the batch's requests with an error instead of crashing or
// returning wrong rows.
func TestBadRunnerOutputs(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name string
		run  funcRunner
		want string
	}{
		{"error", func(context.Context, []tensor.Tensor) ([]tensor.Tensor, error) { return nil, errBoom }, "boom"},
		{"panic", func(context.Context, []tensor.Tensor) ([]tensor.Tensor, error) { panic("kaput") }, "toy v3: run: internal error"},
		{"output count", func(_ context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
			return toyWant(Request{Inputs: in})[:2], nil
		}, "returned 2 outputs"},
		{"rows", func(_ context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
			out := toyWant(Request{Inputs: in})
			out[2] = tensor.FromSlice("n", []int64{1}, []int64{0})
			return out, nil
		}, "want 2 rows"},
		{"data size", func(_ context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
			out := toyWant(Request{Inputs: in})
			out[0].Data = out[0].Data[:3]
			return out, nil
		}, "does not match"},
		{"ragged length", func(_ context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
			out := toyWant(Request{Inputs: in})
			out[1] = tensor.FromSlice("h", []int64{2, 1, 2}, []float32{1, 2, 3, 4})
			return out, nil
		}, "padded length 4"},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			s := newTestScheduler(t, toyCfg(8, &Dynamic{}), runnersOf(tc.run), nil)
			_, err := s.Infer(ctx, toyReq(rng, 2, 4))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Infer: %v, want an error containing %q", err, tc.want)
			}
			if tc.name == "error" && !errors.Is(err, errBoom) {
				t.Errorf("runner error not wrapped: %v", err)
			}
			if st := s.Stats(); st.Fail.Count != 1 || st.ExecutionCount != 0 {
				t.Errorf("stats: %d failures, %d executions; want 1, 0", st.Fail.Count, st.ExecutionCount)
			}
		})
	}
}
