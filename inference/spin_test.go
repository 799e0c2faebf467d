package inference

import (
	"testing"

	"github.com/aisle-ai/aisle/tensor"
)

// TestAllowSpinning checks sessions build and run with spin-waiting forced
// on and off (the option is a runtime config entry; a wrong key would fail
// session creation).
func TestAllowSpinning(t *testing.T) {
	m := testModel(t, "mlp.onnx")
	for _, spin := range []bool{false, true} {
		s, err := m.NewSession(SessionOptions{IntraOpThreads: 2, AllowSpinning: &spin})
		if err != nil {
			t.Fatalf("allow_spinning %v: %v", spin, err)
		}
		in := tensor.FromSlice("x", []int64{2, 64}, make([]float32, 128))
		if _, err := s.Run(t.Context(), []tensor.Tensor{in}); err != nil {
			t.Errorf("allow_spinning %v: %v", spin, err)
		}
		if err := s.Destroy(); err != nil {
			t.Error(err)
		}
	}
}
