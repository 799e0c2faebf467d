package batching

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aisle-ai/aisle/tensor"
)

// errPoison is what poisonRunner returns for a batch holding a poisoned row.
var errPoison = errors.New("indices element out of data bounds")

// poisonRunner is an echoRunner that fails (or panics) whenever its batch
// holds a negative x, as ONNX Runtime fails a whole batch when one request
// has a token id past the vocabulary.
type poisonRunner struct {
	echoRunner
	panics bool
}

func (r *poisonRunner) Run(ctx context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
	if slices.ContainsFunc(tensor.View[float32](in[0].Data), func(x float32) bool { return x < 0 }) {
		if r.panics {
			panic(fmt.Sprintf("runtime error: index out of range [%d] with length 3", len(in[0].Data)))
		}
		return nil, errPoison
	}
	return r.echoRunner.Run(ctx, in)
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPoisonedRequestFailsAlone queues one batch of 16 requests, 3 of them
// poisoned, behind a blocked batch, and checks that exactly the poisoned
// ones fail and every other one gets its own outputs, for a runner that
// returns an error and for one that panics.
func TestPoisonedRequestFailsAlone(t *testing.T) {
	for _, panics := range []bool{false, true} {
		t.Run(fmt.Sprintf("panics=%v", panics), func(t *testing.T) {
			ctx := testContext(t)
			g := newGate()
			r := &poisonRunner{echoRunner: echoRunner{gate: g}, panics: panics}
			var logs syncBuffer
			reg := prometheus.NewRegistry()
			cfg := echoCfg(16, &Dynamic{})
			cfg.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			s := newTestScheduler(t, cfg, runnersOf(r), NewMetrics(reg))

			first := inferAsync(ctx, s, echoReq(100))
			g.next(ctx, t) // the runner is busy: the next requests queue up
			poisoned := map[int]bool{2: true, 7: true, 15: true}
			chans := make([]<-chan outcome, 16)
			for i := range chans {
				x := float32(i)
				if poisoned[i] {
					x = -1 - x
				}
				chans[i] = inferAsync(ctx, s, echoReq(x))
			}
			waitUntil(ctx, t, "16 queued requests", func() bool { return queuedCount(s) == 16 })
			g.open(1000)
			if o := recv(ctx, t, first); o.err != nil {
				t.Fatalf("first request: %v", o.err)
			}
			for i, ch := range chans {
				o := recv(ctx, t, ch)
				if poisoned[i] {
					checkPoisonError(t, i, o.err, panics)
					continue
				}
				if o.err != nil {
					t.Errorf("request %d shares a batch with poisoned ones and failed: %v", i, o.err)
					continue
				}
				if got := tensor.View[float32](o.outs[0].Data); len(got) != 1 || got[0] != float32(i) {
					t.Errorf("request %d: got %v, want [%d]", i, got, i)
				}
			}
			if st := s.Stats(); st.Fail.Count != 3 || st.Success.Count != 14 {
				t.Errorf("stats: %d failed, %d succeeded; want 3, 14", st.Fail.Count, st.Success.Count)
			}
			if n := testutil.ToFloat64(s.inst.splits); n < 1 {
				t.Errorf("aisle_batch_splits_total = %v, want > 0", n)
			}
			checkPoisonLog(t, logs.String(), panics)
			if panics && testutil.ToFloat64(s.inst.panics) < 3 {
				t.Errorf("aisle_batch_panics_total = %v, want at least 3", testutil.ToFloat64(s.inst.panics))
			}
		})
	}
}

func checkPoisonError(t *testing.T, i int, err error, panics bool) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("poisoned request %d succeeded", i)
	case panics && !errors.Is(err, ErrPanic):
		t.Errorf("poisoned request %d: %v, want ErrPanic", i, err)
	case panics && (strings.Contains(err.Error(), "index out of range") || strings.Contains(err.Error(), "goroutine")):
		t.Errorf("poisoned request %d: error carries the panic text: %v", i, err)
	case panics && !strings.Contains(err.Error(), "echo v1: run:"):
		t.Errorf("poisoned request %d: %v does not name the model and step", i, err)
	case !panics && !errors.Is(err, errPoison):
		t.Errorf("poisoned request %d: %v, want the runner's error", i, err)
	}
}

// checkPoisonLog checks that each of the 3 poisoned requests was logged
// once, with a stack when the runner panicked.
func checkPoisonLog(t *testing.T, logs string, panics bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want one per poisoned request (3):\n%s", len(lines), logs)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"model":"echo"`) || !strings.Contains(l, `"step":"run"`) {
			t.Errorf("log line lacks model or step: %s", l)
		}
		if panics != strings.Contains(l, `"stack":"goroutine`) {
			t.Errorf("log line stack presence %v, want %v: %s", !panics, panics, l)
		}
	}
}

// TestPoisonAtAnyRate has clients sending poisoned requests as fast as they
// can beside clients sending good ones, and asserts that no good request
// fails and that the log stays bounded (rate limited).
func TestPoisonAtAnyRate(t *testing.T) {
	ctx := testContext(t)
	var logs syncBuffer
	cfg := echoCfg(32, &Dynamic{})
	cfg.Log = slog.New(slog.NewTextHandler(&logs, nil))
	s := newTestScheduler(t, cfg, runnersOf(&poisonRunner{}, &poisonRunner{}), nil)
	const good, bad, each = 8, 4, 300
	var wg sync.WaitGroup
	var mu sync.Mutex // guards failures, badOK
	failures, badOK := 0, 0
	for c := range good + bad {
		wg.Go(func() {
			for i := range each {
				x := float32(c*each + i)
				if c >= good {
					x = -1 - x
				}
				outs, err := s.Infer(ctx, echoReq(x))
				mu.Lock()
				switch {
				case c < good && (err != nil || tensor.View[float32](outs[0].Data)[0] != x):
					failures++
				case c >= good && err == nil:
					badOK++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if failures != 0 || badOK != 0 {
		t.Errorf("%d of %d good requests failed or got wrong outputs, %d poisoned ones succeeded", failures, good*each, badOK)
	}
	// 1,200 failures, at most logBurst lines plus one a second.
	if n := strings.Count(logs.String(), "\n"); n > 50 {
		t.Errorf("%d log lines for %d failures: not rate limited", n, bad*each)
	}
}
