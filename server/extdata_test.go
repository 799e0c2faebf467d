package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/aisle-ai/aisle/proto/inference"

	"github.com/aisle-ai/aisle/internal/reliability"
)

// extdataFiles copies testdata/extdata/<src> (model.onnx and any weights)
// into root/<name>/<version>/.
func extdataFiles(t *testing.T, root, name string, version int, src string) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "extdata", src)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Weights first: the model file appearing last is what a poller sees
	// as "version complete".
	for _, e := range entries {
		if e.Name() == "model.onnx" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeAtomic(t, filepath.Join(root, name, itoa(version), e.Name()), data)
	}
	data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, filepath.Join(root, name, itoa(version), "model.onnx"), data)
}

func indexReason(t *testing.T, ts *testServer, name, version string) (state, reason string) {
	t.Helper()
	idx, err := ts.client.RepositoryIndex(testCtx(t), &pb.RepositoryIndexRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range idx.Models {
		if m.Name == name && m.Version == version {
			return m.State, m.Reason
		}
	}
	t.Fatalf("%s v%s not in the index %v", name, version, idx.Models)
	return "", ""
}

// TestExternalDataServed serves a model whose weights sit in weights.bin
// beside it, and refuses models whose external data points outside their
// folder: a model reading ../../etc/passwd, one reading /etc/passwd, and a
// model file linked to a file outside the repository. A refused new
// version leaves the previous one serving.
func TestExternalDataServed(t *testing.T) {
	root := t.TempDir()
	extdataFiles(t, root, "legit", 1, "legit")
	modelFile(t, root, "leak", 1, "identity_fp32.onnx")
	extdataFiles(t, root, "leak", 2, "escape")
	extdataFiles(t, root, "abs", 1, "absolute")
	outside := filepath.Join(t.TempDir(), "model.onnx")
	data, err := os.ReadFile(filepath.Join("..", "testdata", "onnx", "identity_fp32.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outside, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "linked", "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "linked", "1", "model.onnx")); err != nil {
		t.Fatal(err)
	}
	// A version folder that is a symbolic link is not a version.
	modelFile(t, root, "linkver", 1, "identity_fp32.onnx")
	modelFile(t, filepath.Dir(outside), "x", 2, "add_v2.onnx")
	if err := os.Symlink(filepath.Join(filepath.Dir(outside), "x", "2"), filepath.Join(root, "linkver", "2")); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, root, 0)
	ctx := testCtx(t)
	reliability.Write(t, reliability.Record{Package: "server", Load: "one server loading 5 models, 4 ModelInfer calls", Faults: "hostile model files: external data at ../../etc/passwd and at /etc/passwd, a model file and a version folder linked out of the repository", BadInputs: 4, Calls: 4})

	t.Run("legit weights beside the model", func(t *testing.T) {
		resp, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "legit",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 0, 0, 0})}})
		if err != nil {
			t.Fatal(err)
		}
		// x selects row 0 of W: (1, 2, 3)/8, plus b = (0.5, -1, 2).
		got := resp.Outputs[0].Contents.GetFp32Contents()
		if resp.RawOutputContents != nil {
			got = nil
		}
		want := []float32{0.625, -0.75, 2.375}
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("y = %v (raw %v), want %v", got, resp.RawOutputContents, want)
		}
	})
	t.Run("dot-dot refused, previous version serves", func(t *testing.T) {
		state, reason := indexReason(t, ts, "leak", "2")
		if state != "UNAVAILABLE" || !strings.Contains(reason, "'..'") || !strings.Contains(reason, "etc/passwd") {
			t.Fatalf("leak v2: %s %q, want UNAVAILABLE naming the '..' location", state, reason)
		}
		if strings.Contains(reason, root) {
			t.Fatalf("reason %q leaks the repository path", reason)
		}
		if _, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "leak", ModelVersion: "2",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 2, 3, 4})}}); status.Code(err) != codes.Unavailable {
			t.Fatalf("infer leak v2: %v, want UNAVAILABLE", err)
		}
		resp, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "leak",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 2, 3, 4})}})
		if err != nil {
			t.Fatalf("leak v1 should keep serving: %v", err)
		}
		if resp.ModelVersion != "1" {
			t.Fatalf("served version %s, want 1", resp.ModelVersion)
		}
	})
	t.Run("absolute refused", func(t *testing.T) {
		state, reason := indexReason(t, ts, "abs", "1")
		if state != "UNAVAILABLE" || !strings.Contains(reason, "absolute") {
			t.Fatalf("abs v1: %s %q, want UNAVAILABLE naming the absolute location", state, reason)
		}
		_, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "abs",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 2, 3, 4})}})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("infer abs: %v, want UNAVAILABLE", err)
		}
	})
	t.Run("version folder linked out of the repository", func(t *testing.T) {
		if vs := ts.repo.Versions("linkver"); len(vs) != 1 || vs[0] != 1 {
			t.Fatalf("linkver serves %v, want [1]", vs)
		}
	})
	t.Run("model file linked out of the repository", func(t *testing.T) {
		state, reason := indexReason(t, ts, "linked", "1")
		if state != "UNAVAILABLE" || !strings.Contains(reason, "leaves the model repository") {
			t.Fatalf("linked v1: %s %q, want UNAVAILABLE", state, reason)
		}
		if strings.Contains(reason, filepath.Dir(outside)) {
			t.Fatalf("reason %q leaks the link target", reason)
		}
	})
}
