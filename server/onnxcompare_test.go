package server

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/tensor"
)

// Tolerances of the float comparison, as issue 11 sets them (ONNX's own
// backend runner uses rtol 1e-3 and atol 1e-7).
const (
	compareRTol = 1e-3
	compareATol = 1e-4
)

// compareTensor reports how got differs from want: the same type and shape,
// floats within tolerance (NaN matching NaN), everything else exact.
func compareTensor(got, want *tensor.Tensor) error {
	if got.DType != want.DType {
		return fmt.Errorf("datatype %s, want %s", got.DType, want.DType)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	var g, w []float64
	switch got.DType {
	case tensor.FP32:
		g, w = widenFloats(tensor.View[float32](got.Data)), widenFloats(tensor.View[float32](want.Data))
	case tensor.FP64:
		g, w = tensor.View[float64](got.Data), tensor.View[float64](want.Data)
	case tensor.FP16, tensor.BF16:
		conv := tensor.Float16Value
		if got.DType == tensor.BF16 {
			conv = func(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }
		}
		for _, h := range tensor.View[uint16](got.Data) {
			g = append(g, float64(conv(h)))
		}
		for _, h := range tensor.View[uint16](want.Data) {
			w = append(w, float64(conv(h)))
		}
	case tensor.Bytes:
		for i := range want.Strings {
			if string(got.Strings[i]) != string(want.Strings[i]) {
				return fmt.Errorf("element %d is %q, want %q", i, got.Strings[i], want.Strings[i])
			}
		}
		return nil
	default:
		if string(got.Data) != string(want.Data) {
			return fmt.Errorf("data differ: got % x, want % x", clip(got.Data), clip(want.Data))
		}
		return nil
	}
	if len(g) != len(w) {
		return fmt.Errorf("%d elements, want %d", len(g), len(w))
	}
	for i := range w {
		a, b := g[i], w[i]
		if math.IsNaN(a) && math.IsNaN(b) || a == b {
			continue
		}
		if math.IsNaN(a) || math.IsNaN(b) || math.Abs(a-b) > compareATol+compareRTol*math.Abs(b) {
			return fmt.Errorf("element %d is %g, want %g", i, a, b)
		}
	}
	return nil
}

func widenFloats(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

func clip(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

// readKnownFailures reads the committed list of cases ONNX Runtime itself
// cannot run: "<case>\t<reason>" lines, # comments.
func readKnownFailures(t testing.TB, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, "\t")
		out[name] = reason
	}
	return out
}
