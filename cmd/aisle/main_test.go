package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/repository"
)

func ortLib(t *testing.T) string {
	t.Helper()
	return inference.LibraryPath("")
}

func TestInspectDescribes(t *testing.T) {
	var out bytes.Buffer
	err := inspect([]string{"--ort-lib", ortLib(t), filepath.Join("..", "..", "testdata", "onnx", "seq_sum.onnx")}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"opsets:    ai.onnx=17", "ir:        8", "input_ids", "INT64", "[-1 -1]", "hidden", "[-1 -1 2]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestInspectConfigIsValid checks the suggested config parses and agrees
// with the model it was made from.
func TestInspectConfigIsValid(t *testing.T) {
	for _, file := range []string{"seq_sum.onnx", "mlp.onnx", "two_inputs.onnx"} {
		t.Run(file, func(t *testing.T) {
			var out bytes.Buffer
			path := filepath.Join("..", "..", "testdata", "onnx", file)
			if err := inspect([]string{"--config", "--ort-lib", ortLib(t), path}, &out); err != nil {
				t.Fatal(err)
			}
			cfg, err := repository.ParseConfig(out.Bytes())
			if err != nil {
				t.Fatalf("suggested config does not parse: %v\n%s", err, out.String())
			}
			if cfg.MaxBatchSize != 64 || cfg.DynamicBatching == nil {
				t.Fatalf("want batching on for a model with free dim 0:\n%s", out.String())
			}
		})
	}
}

func TestInspectBadFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(bad, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := inspect([]string{"--ort-lib", ortLib(t), bad}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "invalid onnx model") {
		t.Fatalf("err = %v, want invalid onnx model", err)
	}
}

func TestServeMissingRuntimeNamesSetup(t *testing.T) {
	if inference.Ready() {
		t.Skip("runtime already initialised in this process")
	}
	err := run(context.Background(), []string{"serve", "--ort-lib", filepath.Join(t.TempDir(), "missing.so")})
	if err == nil || !strings.Contains(err.Error(), inference.SetupCommand) {
		t.Fatalf("err = %v, want it to name %s", err, inference.SetupCommand)
	}
}

func TestUnknownCommand(t *testing.T) {
	if err := run(context.Background(), []string{"frobnicate"}); err == nil {
		t.Fatal("want an error for an unknown command")
	}
}
