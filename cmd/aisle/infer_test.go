package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/server"
)

// TestInferAgainstServer sends a JSON request with "aisle infer" to a real
// server on loopback serving the identity model.
func TestInferAgainstServer(t *testing.T) {
	if err := inference.Init(ortLib(t)); err != nil {
		t.Fatal(err)
	}
	defer inference.Shutdown()
	root := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "onnx", "identity_int64.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(filepath.Join(root, "ids", "1"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "ids", "1", "model.onnx"), data, 0o644))
	must(t, os.WriteFile(filepath.Join(root, "ids", "config.yaml"), []byte("max_batch_size: 2\n"), 0o644))

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	repo, err := repository.New(repository.Options{Root: root, Logger: log, Registerer: prometheus.NewRegistry()})
	must(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	must(t, repo.Load(ctx))
	defer repo.Close(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := server.New(server.Config{}, repo, prometheus.NewRegistry(), log)
	go func() { _ = srv.Serve(ctx, ln) }()
	defer srv.Stop(context.Background())

	req := filepath.Join(t.TempDir(), "req.json")
	must(t, os.WriteFile(req, []byte(`{"model_name":"ids","inputs":[{"name":"x","datatype":"INT64","shape":[1,4],"data":[[1,-2,3,9007199254740993]]}]}`), 0o644))
	var out bytes.Buffer
	must(t, infer(ctx, []string{"--addr", ln.Addr().String(), "-f", req}, &out))
	var resp struct {
		Outputs []struct {
			Name string  `json:"name"`
			Data []int64 `json:"data"`
		} `json:"outputs"`
	}
	must(t, json.Unmarshal(out.Bytes(), &resp))
	if got := resp.Outputs[0].Data; len(got) != 4 || got[1] != -2 || got[3] != 9007199254740993 {
		t.Fatalf("output %s", out.String())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
