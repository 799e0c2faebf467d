package inference

import (
	"errors"
	"testing"

	"github.com/aisle-ai/aisle/tensor"
)

// inputFault is what the batching scheduler asks of a runner error before
// splitting a failed batch.
type inputFault interface{ InputFault() bool }

func isInputFault(err error) bool {
	var f inputFault
	return !errors.As(err, &f) || f.InputFault()
}

// TestRunAfterDestroy checks that a Run on a destroyed session returns
// ErrSessionClosed, which says no input caused it, instead of handing the
// runtime a freed session.
func TestRunAfterDestroy(t *testing.T) {
	s, err := testModel(t, "identity_fp32.onnx").NewSession(SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Destroy(); err != nil {
		t.Fatal(err)
	}
	in := tensor.FromSlice("x", []int64{1, 4}, []float32{1, 2, 3, 4})
	_, err = s.Run(t.Context(), []tensor.Tensor{in})
	if !errors.Is(err, ErrSessionClosed) || isInputFault(err) {
		t.Fatalf("err = %v, want ErrSessionClosed, not an input fault", err)
	}
}

// TestRunErrorClassified checks which runtime failures say that a request's
// data may have caused them: a data error and an allocation failure may
// (nothing tells them apart, so they are not marked), ErrUnsupported may not.
func TestRunErrorClassified(t *testing.T) {
	for _, tc := range []struct {
		err   error
		oom   bool
		input bool
	}{
		{runError(errors.New("Failed to allocate memory for requested buffer of size 4294967296")), true, true},
		{runError(errors.New("std::bad_alloc")), true, true},
		{runError(errors.New("CUDA failure 2: out of memory ; GPU=0")), true, true},
		{runError(errors.New("indices element out of data bounds, idx=30522 must be within the inclusive range [-30522,30521]")), false, true},
		{ErrUnsupported, false, false},
	} {
		if errors.Is(tc.err, ErrOutOfMemory) != tc.oom || isInputFault(tc.err) != tc.input {
			t.Errorf("%v: out of memory %v, input fault %v; want %v, %v", tc.err,
				errors.Is(tc.err, ErrOutOfMemory), isInputFault(tc.err), tc.oom, tc.input)
		}
		if tc.err != ErrUnsupported && !errors.Is(tc.err, ErrRun) {
			t.Errorf("%v does not wrap ErrRun", tc.err)
		}
	}
}
