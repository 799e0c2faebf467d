package inference

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aisle-ai/aisle/tensor"
)

func TestMain(m *testing.M) {
	if err := Init(LibraryPath("")); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = Shutdown()
	os.Exit(code)
}

func testModel(t *testing.T, name string) *Model {
	t.Helper()
	m, err := ReadModel(filepath.Join("..", "testdata", "onnx", name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestIdentityEveryDType sends each numeric type through an Identity model
// and checks the bytes come back unchanged, both directions of conversion.
func TestIdentityEveryDType(t *testing.T) {
	cases := []struct {
		file string
		dt   tensor.DType
	}{
		{"identity_fp32.onnx", tensor.FP32}, {"identity_fp16.onnx", tensor.FP16},
		{"identity_fp64.onnx", tensor.FP64}, {"identity_int8.onnx", tensor.Int8},
		{"identity_int16.onnx", tensor.Int16}, {"identity_int32.onnx", tensor.Int32},
		{"identity_int64.onnx", tensor.Int64}, {"identity_uint8.onnx", tensor.Uint8},
		{"identity_uint16.onnx", tensor.Uint16}, {"identity_uint32.onnx", tensor.Uint32},
		{"identity_uint64.onnx", tensor.Uint64}, {"identity_bool.onnx", tensor.Bool},
	}
	for _, tc := range cases {
		t.Run(tc.dt.String(), func(t *testing.T) {
			m := testModel(t, tc.file)
			if m.Inputs[0].DType != tc.dt || m.Outputs[0].DType != tc.dt {
				t.Fatalf("model types %s -> %s, want %s", m.Inputs[0].DType, m.Outputs[0].DType, tc.dt)
			}
			s, err := m.NewSession(SessionOptions{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Destroy()
			data := make([]byte, 3*4*tc.dt.Size())
			for i := range data {
				data[i] = byte(i*37 + 1)
			}
			if tc.dt == tensor.Bool {
				for i := range data {
					data[i] &= 1
				}
			}
			if tc.dt == tensor.FP16 {
				for i := 0; i < len(data); i += 2 {
					copy(data[i:], tensor.AsBytes([]uint16{tensor.Float16Bits(float32(i) / 3)}))
				}
			}
			in := tensor.Tensor{Name: "x", DType: tc.dt, Shape: []int64{3, 4}, Data: data}
			out, err := s.Run(t.Context(), []tensor.Tensor{in})
			if err != nil {
				t.Fatal(err)
			}
			if out[0].DType != tc.dt || string(out[0].Data) != string(data) {
				t.Fatalf("got %s %v, want %s %v", out[0].DType, out[0].Data, tc.dt, data)
			}
			if got := out[0].Shape; len(got) != 2 || got[0] != 3 || got[1] != 4 {
				t.Fatalf("shape %v, want [3 4]", got)
			}
		})
	}
}

func TestMLPBatchRowsIndependent(t *testing.T) {
	m := testModel(t, "mlp.onnx")
	s, err := m.NewSession(SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	x := make([]float32, 2*64)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	both, err := s.Run(t.Context(), []tensor.Tensor{tensor.FromSlice("x", []int64{2, 64}, x)})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Run(t.Context(), []tensor.Tensor{tensor.FromSlice("x", []int64{1, 64}, x[64:])})
	if err != nil {
		t.Fatal(err)
	}
	got := tensor.View[float32](both[0].Data)[1]
	want := tensor.View[float32](second[0].Data)[0]
	if d := got - want; d > 1e-5 || d < -1e-5 {
		t.Fatalf("row 1 of batch = %v, alone = %v", got, want)
	}
}

func TestReadModelRejectsBadFiles(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("..", "testdata", "onnx", "mlp.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     {},
		"truncated": good[:len(good)/2],
		"text":      []byte("this is not an onnx model\n"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseModel(name, data); !errors.Is(err, ErrInvalidModel) {
				t.Fatalf("err = %v, want ErrInvalidModel", err)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	m := testModel(t, "mlp.onnx")
	if m.Header.IRVersion != 8 || m.Header.Opsets[""] != 17 {
		t.Fatalf("header = %+v, want ir 8 opset 17", m.Header)
	}
}

func TestRunCancelled(t *testing.T) {
	m := testModel(t, "identity_fp32.onnx")
	s, err := m.NewSession(SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	in := tensor.FromSlice("x", []int64{1, 4}, []float32{1, 2, 3, 4})
	if _, err := s.Run(ctx, []tensor.Tensor{in}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The session still works after a cancelled call.
	if _, err := s.Run(t.Context(), []tensor.Tensor{in}); err != nil {
		t.Fatal(err)
	}
}

func TestSessionOptionsValidate(t *testing.T) {
	cases := []struct {
		opts SessionOptions
		ok   bool
	}{
		{SessionOptions{}, true},
		{SessionOptions{IntraOpThreads: 2, GraphOptimization: "basic", ExecutionProvider: "cpu"}, true},
		{SessionOptions{IntraOpThreads: -1}, false},
		{SessionOptions{GraphOptimization: "max"}, false},
		{SessionOptions{ExecutionProvider: "rocm"}, false},
	}
	for _, tc := range cases {
		if err := tc.opts.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.opts, err, tc.ok)
		}
	}
}

// TestCUDAUnavailable checks the CPU-only runtime gives a clear error, not a
// crash, when a GPU provider is asked for.
func TestCUDAUnavailable(t *testing.T) {
	m := testModel(t, "identity_fp32.onnx")
	s, err := m.NewSession(SessionOptions{ExecutionProvider: "cuda"})
	if err == nil {
		s.Destroy()
		t.Skip("this runtime has CUDA")
	}
	if !errors.Is(err, ErrProvider) {
		t.Fatalf("err = %v, want ErrProvider", err)
	}
}
