package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/inference"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// ortFailuresFile lists the numeric node cases ONNX Runtime 1.24.1 itself
// cannot run in-process, each with ONNX Runtime's own reason. Regenerate it
// with
//
//	AISLE_UPDATE_ORT_FAILURES=1 go test -run TestONNXConformanceInProcess ./server
const ortFailuresFile = "testdata/onnx_node_ort_failures.tsv"

// updateEnv asks TestONNXConformanceInProcess to rewrite ortFailuresFile.
const updateEnv = "AISLE_UPDATE_ORT_FAILURES"

// TestONNXConformance loads every numeric ONNX backend node test into one
// repository and runs each of its data sets through the real server over
// gRPC (KServe ModelInfer, raw tensors), comparing every output with the
// expected one. A case listed in ortFailuresFile must fail (ONNX Runtime
// cannot run it); every other case must pass.
func TestONNXConformance(t *testing.T) {
	cases := numericCases(t)
	known := readKnownFailures(t, ortFailuresFile)
	root := t.TempDir()
	for _, c := range cases {
		dir := filepath.Join(root, c.name, "1")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// Copied, not linked: the repository refuses model files that
		// link out of it (external-data and path confinement).
		b, err := os.ReadFile(filepath.Join(c.dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "model.onnx"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServerOpts(t, root, 0, func(Repository) []Service { return nil })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	errs := forEachCase(cases, func(c *onnxCase) error { return runCaseGRPC(ctx, ts.client, c) })

	passed, failedAsKnown := 0, 0
	for i, c := range cases {
		reason, listed := known[c.name]
		switch {
		case errs[i] == nil && !listed:
			passed++
		case errs[i] == nil:
			t.Errorf("%s passes through aisle but %s lists it as failing in ONNX Runtime (%s): regenerate the list", c.name, ortFailuresFile, reason)
		case listed:
			failedAsKnown++
		default:
			t.Errorf("%s: %v", c.name, errs[i])
		}
	}
	t.Logf("ONNX node tests: %d numeric cases; %d pass through aisle's ModelInfer; %d fail as listed in %s (ONNX Runtime cannot run them)",
		len(cases), passed, failedAsKnown, ortFailuresFile)
}

// numericCases returns the node cases whose inputs and outputs are all
// numeric or boolean tensors, or skips when the data is not installed.
func numericCases(t *testing.T) []onnxCase {
	t.Helper()
	var out []onnxCase
	for _, c := range readOnnxCases(t, findOnnxTestdata(t)) {
		if c.numeric() {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatal("no numeric node cases found")
	}
	return out
}

// forEachCase runs fn on every case, a few at a time, and returns the
// errors in case order. Two workers per core keep the cores busy while
// others wait on gRPC round trips.
func forEachCase(cases []onnxCase, fn func(*onnxCase) error) []error {
	errs := make([]error, len(cases))
	next := make(chan int)
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				errs[i] = fn(&cases[i])
			}
		})
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// runCaseGRPC sends each data set of c to the server and compares the
// answer with the expected outputs.
func runCaseGRPC(ctx context.Context, client pb.GRPCInferenceServiceClient, c *onnxCase) error {
	for _, set := range c.sets {
		ins, wants, err := readSet(c, set)
		if err != nil {
			return err
		}
		req := &pb.ModelInferRequest{ModelName: c.name}
		for i, in := range ins {
			req.Inputs = append(req.Inputs, &pb.ModelInferRequest_InferInputTensor{
				Name: c.inputs[i].name, Datatype: in.DType.String(), Shape: in.Shape})
			raw := in.Data
			if in.DType == tensor.Bytes {
				raw = tensor.EncodeStrings(in.Strings)
			}
			req.RawInputContents = append(req.RawInputContents, raw)
		}
		resp, err := client.ModelInfer(ctx, req)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(set), err)
		}
		got, err := decodeOutputs(resp)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(set), err)
		}
		for i := range wants {
			name := c.outputs[i].name
			g, ok := got[name]
			if !ok {
				return fmt.Errorf("%s: output %q missing from the response", filepath.Base(set), name)
			}
			if err := compareTensor(&g, &wants[i]); err != nil {
				return fmt.Errorf("%s: output %q: %w", filepath.Base(set), name, err)
			}
		}
	}
	return nil
}

// readSet reads one data set's inputs and expected outputs.
func readSet(c *onnxCase, set string) (ins, wants []tensor.Tensor, err error) {
	if ins, err = readDataSet(set, "input"); err != nil {
		return nil, nil, err
	}
	if wants, err = readDataSet(set, "output"); err != nil {
		return nil, nil, err
	}
	if len(ins) > len(c.inputs) || len(wants) > len(c.outputs) {
		return nil, nil, fmt.Errorf("%s: %d inputs and %d outputs for a graph of %d and %d",
			filepath.Base(set), len(ins), len(wants), len(c.inputs), len(c.outputs))
	}
	retypeBF16(ins, c.inputs)
	retypeBF16(wants, c.outputs)
	return ins, wants, nil
}

// retypeBF16 gives BF16 back to tensors the test data stores as UINT16
// bits (numpy has no bfloat16) where the graph declares BF16.
func retypeBF16(ts []tensor.Tensor, graph []onnxValue) {
	for i := range ts {
		if ts[i].DType == tensor.Uint16 && onnxDTypes[graph[i].elemType] == tensor.BF16 {
			ts[i].DType = tensor.BF16
		}
	}
}

// TestONNXConformanceInProcess runs every numeric node case directly through
// inference (ONNX Runtime in-process, no server) and checks that exactly the
// cases of ortFailuresFile fail; with $AISLE_UPDATE_ORT_FAILURES set it
// rewrites the file instead. Skipped under -short.
func TestONNXConformanceInProcess(t *testing.T) {
	update := os.Getenv(updateEnv) != ""
	if testing.Short() && !update {
		t.Skip("the in-process baseline doubles the suite's time; the gRPC suite checks the same list")
	}
	cases := numericCases(t)
	errs := forEachCase(cases, runCaseInProcess)
	if update {
		writeKnownFailures(t, cases, errs)
		return
	}
	known := readKnownFailures(t, ortFailuresFile)
	failed := 0
	for i, c := range cases {
		_, listed := known[c.name]
		if errs[i] != nil {
			failed++
		}
		if (errs[i] != nil) != listed {
			t.Errorf("%s: in-process error %v, listed as failing: %v; regenerate %s with %s=1", c.name, errs[i], listed, ortFailuresFile, updateEnv)
		}
	}
	t.Logf("ONNX Runtime %s in-process: %d of %d numeric node cases pass", inference.Version(), len(cases)-failed, len(cases))
}

// runCaseInProcess runs c's data sets on one session with minimal options
// and compares the outputs.
func runCaseInProcess(c *onnxCase) error {
	m, err := inference.ReadModel(filepath.Join(c.dir, "model.onnx"))
	if err != nil {
		return err
	}
	s, err := m.NewSession(inference.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		return err
	}
	defer s.Destroy()
	for _, set := range c.sets {
		ins, wants, err := readSet(c, set)
		if err != nil {
			return err
		}
		byName := map[string]tensor.Tensor{}
		for i, in := range ins {
			byName[c.inputs[i].name] = in
		}
		ordered := make([]tensor.Tensor, len(m.Inputs))
		for i, info := range m.Inputs {
			in, ok := byName[info.Name]
			if !ok {
				return fmt.Errorf("%s: no data for input %q", filepath.Base(set), info.Name)
			}
			ordered[i] = in
		}
		outs, err := s.Run(context.Background(), ordered)
		if err != nil {
			return err
		}
		for i := range wants {
			if err := compareTensor(&outs[i], &wants[i]); err != nil {
				return fmt.Errorf("%s: output %q: %w", filepath.Base(set), m.Outputs[i].Name, err)
			}
		}
	}
	return nil
}

// writeKnownFailures writes ortFailuresFile from an in-process run, each
// reason on one line, without paths and at most 300 bytes long.
func writeKnownFailures(t *testing.T, cases []onnxCase, errs []error) {
	t.Helper()
	var lines []string
	for i, c := range cases {
		if errs[i] == nil {
			continue
		}
		reason := strings.ReplaceAll(errs[i].Error(), c.dir+string(filepath.Separator), "")
		reason = strings.ReplaceAll(reason, c.dir, c.name)
		reason = strings.Join(strings.Fields(reason), " ")
		if len(reason) > 300 {
			reason = reason[:300] + "…"
		}
		lines = append(lines, c.name+"\t"+reason)
	}
	sort.Strings(lines)
	header := fmt.Sprintf("# Numeric ONNX backend node tests (libonnx-testdata 1.12) that ONNX Runtime %s cannot run in-process,\n"+
		"# with its reason: %d of %d. Generated by %s=1 go test -run TestONNXConformanceInProcess ./server\n",
		inference.Version(), len(lines), len(cases), updateEnv)
	if err := os.WriteFile(ortFailuresFile, []byte(header+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d of %d cases fail in-process", ortFailuresFile, len(lines), len(cases))
}
