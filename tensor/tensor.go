package tensor

import (
	"errors"
	"fmt"
	"math"

	"github.com/aisle-ai/aisle/excerpt"
)

// ErrShape reports a tensor whose data does not match its shape or type.
var ErrShape = errors.New("tensor data does not match shape")

// Tensor is a named n-dimensional array. Fixed-size types keep their
// elements in Data, row-major and little-endian; BYTES keeps one element per
// entry of Strings. A Tensor does not own its slices: callers that keep a
// tensor beyond a call must not mutate the slices it was built from.
type Tensor struct {
	Name    string
	DType   DType
	Shape   []int64
	Data    []byte
	Strings [][]byte
}

// NumElements returns the product of the dimensions, or -1 when a dimension
// is negative or the product overflows.
func NumElements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		if d != 0 && n > (1<<62)/d {
			return -1
		}
		n *= d
	}
	return n
}

// NumElements returns the number of elements t's shape describes.
func (t *Tensor) NumElements() int64 { return NumElements(t.Shape) }

// ByteSize returns the number of data bytes t's shape and type require, or
// -1 for BYTES or an invalid shape.
func (t *Tensor) ByteSize() int64 {
	n, size := t.NumElements(), int64(t.DType.Size())
	// NumElements allows up to 2^62 elements; times an 8-byte type that
	// wraps (to 0 for [2^31, 2^31] UINT64, which FuzzValidate found passing
	// Validate with no data).
	if n < 0 || size == 0 || n > math.MaxInt64/size {
		return -1
	}
	return n * size
}

// Validate checks that t's data agrees with its shape and type.
func (t *Tensor) Validate() error {
	n := t.NumElements()
	if n < 0 {
		return fmt.Errorf("%w: %s has invalid shape %s", ErrShape, excerpt.Text(t.Name, excerpt.MaxBytes), excerpt.Shape(t.Shape))
	}
	switch {
	case t.DType == Invalid || t.DType > Bytes:
		return fmt.Errorf("%w: %s has invalid datatype", ErrShape, excerpt.Text(t.Name, excerpt.MaxBytes))
	case t.DType == Bytes:
		if int64(len(t.Strings)) != n {
			return fmt.Errorf("%w: %s has %d elements, shape %s needs %d",
				ErrShape, excerpt.Text(t.Name, excerpt.MaxBytes), len(t.Strings), excerpt.Shape(t.Shape), n)
		}
	default:
		if want := t.ByteSize(); want < 0 || int64(len(t.Data)) != want {
			return fmt.Errorf("%w: %s has %d bytes, shape %s of %s needs %d",
				ErrShape, excerpt.Text(t.Name, excerpt.MaxBytes), len(t.Data), excerpt.Shape(t.Shape), t.DType, want)
		}
	}
	return nil
}

// RowSize returns the number of elements in one row of the first (batch)
// dimension.
func (t *Tensor) RowSize() int64 {
	if len(t.Shape) == 0 {
		return 1
	}
	return NumElements(t.Shape[1:])
}
