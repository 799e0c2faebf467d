package batching

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsAndStats runs a known workload (a batch of 1 row, a batch of 3
// rows, one queue-full rejection, one cancellation, one queue timeout) and
// checks the Prometheus series and Stats.
func TestMetricsAndStats(t *testing.T) {
	ctx := testContext(t)
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	if again := NewMetrics(reg); again.rejected != m.rejected {
		t.Error("a second NewMetrics on the same registry did not reuse the collectors")
	}
	r := &echoRunner{gate: newGate()}
	s := newTestScheduler(t, echoCfg(8, &Dynamic{
		PriorityLevels: 2, DefaultPriorityLevel: 2,
		DefaultQueuePolicy:  QueuePolicy{MaxQueueSize: 3},
		PriorityQueuePolicy: map[int]QueuePolicy{1: {DefaultTimeout: 1}},
	}), runnersOf(r), m)

	done := []<-chan outcome{inferAsync(ctx, s, echoReq(0))}
	r.gate.next(ctx, t)
	cctx, cancel := context.WithCancel(ctx)
	cancelled := inferAsync(cctx, s, echoReq(7))
	waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == 1 })
	done = append(done, inferAsync(ctx, s, echoReq(1, 2)))
	waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == 2 })
	done = append(done, inferAsync(ctx, s, echoReq(3)))
	waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == 3 })
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP aisle_queue_depth Requests waiting in the batching queue.
# TYPE aisle_queue_depth gauge
aisle_queue_depth{model="echo",version="1"} 3
`), "aisle_queue_depth"); err != nil {
		t.Error(err)
	}
	if _, err := s.Infer(ctx, echoReq(9)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Infer: %v, want ErrQueueFull", err)
	}
	cancel()
	if o := recv(ctx, t, cancelled); !errors.Is(o.err, context.Canceled) {
		t.Fatalf("cancelled Infer: %v", o.err)
	}
	urgent := echoReq(8)
	urgent.Priority = 1 // times out after 1ns
	if _, err := s.Infer(ctx, urgent); !errors.Is(err, ErrQueueTimeout) {
		t.Fatalf("Infer: %v, want ErrQueueTimeout", err)
	}
	r.gate.open(2)
	for _, c := range done {
		if o := recv(ctx, t, c); o.err != nil {
			t.Fatal(o.err)
		}
	}

	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP aisle_batch_rejected_total Requests refused or that left the queue without running, by reason (queue_full, overloaded, timeout, cancelled).
# TYPE aisle_batch_rejected_total counter
aisle_batch_rejected_total{model="echo",reason="cancelled",version="1"} 1
aisle_batch_rejected_total{model="echo",reason="overloaded",version="1"} 0
aisle_batch_rejected_total{model="echo",reason="queue_full",version="1"} 1
aisle_batch_rejected_total{model="echo",reason="timeout",version="1"} 1
# HELP aisle_execution_count_total Batches executed successfully, as Triton's nv_inference_exec_count.
# TYPE aisle_execution_count_total counter
aisle_execution_count_total{model="echo",version="1"} 2
# HELP aisle_inference_count_total Rows inferred successfully (a batch of n rows counts n), as Triton's nv_inference_count.
# TYPE aisle_inference_count_total counter
aisle_inference_count_total{model="echo",version="1"} 4
# HELP aisle_queue_depth Requests waiting in the batching queue.
# TYPE aisle_queue_depth gauge
aisle_queue_depth{model="echo",version="1"} 0
`), "aisle_batch_rejected_total", "aisle_execution_count_total", "aisle_inference_count_total", "aisle_queue_depth"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "aisle_batch_size":
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 2 || h.GetSampleSum() != 4 {
				t.Errorf("aisle_batch_size: count %d sum %v, want 2 and 4", h.GetSampleCount(), h.GetSampleSum())
			}
		case "aisle_queue_duration_seconds", "aisle_compute_duration_seconds":
			want := map[string]uint64{"aisle_queue_duration_seconds": 3, "aisle_compute_duration_seconds": 2}[mf.GetName()]
			if got := mf.GetMetric()[0].GetHistogram().GetSampleCount(); got != want {
				t.Errorf("%s: %d observations, want %d", mf.GetName(), got, want)
			}
		}
	}

	st := s.Stats()
	if st.Success.Count != 3 || st.Fail.Count != 3 || st.Queue.Count != 3 ||
		st.InferenceCount != 4 || st.ExecutionCount != 2 || st.ComputeInfer.Count != 3 || st.LastInference.IsZero() {
		t.Errorf("stats %+v", st)
	}
	sizes := make([]int, 0, len(st.Batches))
	for _, b := range st.Batches {
		sizes = append(sizes, b.Size)
		if b.ComputeInfer.Count != 1 {
			t.Errorf("batch size %d: %d executions, want 1", b.Size, b.ComputeInfer.Count)
		}
	}
	if !slices.Equal(sizes, []int{1, 3}) {
		t.Errorf("batch sizes %v, want [1 3]", sizes)
	}

	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	m.Forget("echo", "1")
	for _, name := range []string{
		"aisle_batch_size", "aisle_queue_depth", "aisle_queue_duration_seconds", "aisle_compute_duration_seconds",
		"aisle_batch_rejected_total", "aisle_inference_count_total", "aisle_execution_count_total",
		"aisle_batch_size_limit",
	} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 0 {
			t.Errorf("%s after Forget: %d series (%v)", name, n, err)
		}
	}
}
