package server

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/aisle-ai/aisle/proto/inference"

	"github.com/aisle-ai/aisle/internal/reliability"
)

// loopInfer calls ModelInfer on the latest version until stop, recording
// failures and the last output value seen.
type loopInfer struct {
	calls, failures atomic.Int64
	last            atomic.Value // float32 y[0] of the last answer
	firstErr        atomic.Value
}

func (l *loopInfer) run(ctx context.Context, c pb.GRPCInferenceServiceClient, wg *sync.WaitGroup) {
	defer wg.Done()
	for ctx.Err() == nil {
		resp, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "ident",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 2, 3, 4})}})
		if ctx.Err() != nil {
			return
		}
		l.calls.Add(1)
		if err != nil {
			l.failures.Add(1)
			l.firstErr.CompareAndSwap(nil, err.Error())
			continue
		}
		l.last.Store(resp.Outputs[0].Contents.Fp32Contents[0])
	}
}

// waitFor polls cond until it holds or the test context ends.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := testCtx(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestHotReload(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	ts := startServer(t, root, 20*time.Millisecond)

	ctx, stop := context.WithCancel(testCtx(t))
	var loop loopInfer
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go loop.run(ctx, ts.client, &wg)
	}
	defer func() { stop(); wg.Wait() }()
	waitFor(t, "first answers", func() bool { return loop.calls.Load() > 10 })

	// A new version is loaded and served: add_v2 answers x+1.
	modelFile(t, root, "ident", 2, "add_v2.onnx")
	waitFor(t, "v2 serving", func() bool { v, _ := loop.last.Load().(float32); return v == 2 })

	// A corrupt v3 is refused; v2 keeps serving.
	good, _ := os.ReadFile(filepath.Join("..", "testdata", "onnx", "identity_fp32.onnx"))
	writeAtomic(t, filepath.Join(root, "ident", "3", "model.onnx"), good[:len(good)/2])
	waitFor(t, "v3 refused", func() bool {
		return counterValue(ts.reg, "aisle_model_load_failures_total", "ident", "load") >= 1
	})
	before := loop.calls.Load()
	waitFor(t, "more answers", func() bool { return loop.calls.Load() > before+20 })
	if v, _ := loop.last.Load().(float32); v != 2 {
		t.Fatalf("after corrupt v3, answer %v; want v2's 2", v)
	}

	// Replacing v2's file in place swaps it atomically (identity again).
	modelFile(t, root, "ident", 2, "identity_fp32.onnx")
	waitFor(t, "v2 replaced", func() bool { v, _ := loop.last.Load().(float32); return v == 1 })

	// Overwriting the serving file with garbage keeps the loaded copy.
	writeAtomic(t, filepath.Join(root, "ident", "2", "model.onnx"), []byte("garbage"))
	waitFor(t, "garbage v2 refused", func() bool {
		return counterValue(ts.reg, "aisle_model_load_failures_total", "ident", "load") >= 2
	})
	before = loop.calls.Load()
	waitFor(t, "answers after garbage", func() bool { return loop.calls.Load() > before+20 })
	if v, _ := loop.last.Load().(float32); v != 1 {
		t.Fatalf("after garbage v2, answer %v; want the loaded v2's 1", v)
	}

	stop()
	wg.Wait()
	reliability.Write(t, reliability.Record{Package: "server", Load: "4 clients calling ModelInfer in a loop; repository polled every 20ms", Faults: "4 model file changes under load: new v2, corrupt v3 (half a file), v2 replaced in place, garbage written over the serving v2", BadInputs: 2, Calls: loop.calls.Load(), Failed: loop.failures.Load(), Lost: loop.failures.Load()})
	if f := loop.failures.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed during swaps; first: %v", f, loop.calls.Load(), loop.firstErr.Load())
	}
}

func TestVersionRemovedIsUnloaded(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig+"version_policy: {all: {}}\n")
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	modelFile(t, root, "ident", 2, "add_v2.onnx")
	ts := startServer(t, root, 20*time.Millisecond)
	ctx := testCtx(t)
	ready := func(v string) bool {
		r, err := ts.client.ModelReady(ctx, &pb.ModelReadyRequest{Name: "ident", Version: v})
		return err == nil && r.Ready
	}
	if !ready("1") || !ready("2") {
		t.Fatal("both versions should serve under policy all")
	}
	if err := os.RemoveAll(filepath.Join(root, "ident", "2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "v2 unloaded", func() bool { return !ready("2") })
	if !ready("1") {
		t.Fatal("v1 should keep serving")
	}
	// Removing the whole model unloads it.
	if err := os.RemoveAll(filepath.Join(root, "ident")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "model unloaded", func() bool { return !ready("") })
}

func TestInvalidConfigKeepsServing(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	ts := startServer(t, root, 20*time.Millisecond)
	ctx := testCtx(t)
	writeConfig(t, root, "ident", "max_batch_size: nope\n")
	waitFor(t, "config refused", func() bool {
		return counterValue(ts.reg, "aisle_model_load_failures_total", "ident", "config") >= 1
	})
	if _, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "ident",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 2, 3, 4})}}); err != nil {
		t.Fatalf("old config should keep serving: %v", err)
	}
}
