package batching

import (
	"fmt"

	"github.com/aisle-ai/aisle/tensor"
)

// scatter splits the runner's outputs into one result per request of part,
// in res. Every request's outputs are copied, because the
// runner may reuse its buffers: all of a batch's output bytes live in one
// fresh allocation that the requests' tensors sub-slice (capacity-limited,
// so appending to one never overwrites another), and is freed when the last
// of them is dropped. A batch thus costs three allocations for all its
// requests, however many there are.
func (s *Scheduler) scatter(part []*entry, res []result, outs []tensor.Tensor, rows, padLen int) error {
	nOut := len(s.cfg.Outputs)
	if len(outs) != nOut {
		return fmt.Errorf("%s: runner returned %d outputs, want %d", s.name, len(outs), nOut)
	}
	rankSum := 0
	var a arena
	for j := range outs {
		o, spec := &outs[j], &s.cfg.Outputs[j]
		if err := o.Validate(); err != nil {
			return fmt.Errorf("%s: runner output %q: %w", s.name, spec.Name, err)
		}
		if s.cfg.MaxBatchSize > 0 {
			if len(o.Shape) == 0 || o.Shape[0] != int64(rows) {
				return fmt.Errorf("%s: runner output %q has shape %v, want %d rows", s.name, spec.Name, o.Shape, rows)
			}
			if spec.Ragged && (len(o.Shape) < 2 || o.Shape[1] != int64(padLen)) {
				return fmt.Errorf("%s: ragged runner output %q has shape %v, want dimension 1 = padded length %d",
					s.name, spec.Name, o.Shape, padLen)
			}
		}
		rankSum += len(o.Shape)
		a.reserve(o)
	}
	a.alloc()
	n := len(part)
	tens := make([]tensor.Tensor, n*nOut)
	shapes := make([]int64, n*rankSum)
	for j := range outs {
		o, spec := &outs[j], &s.cfg.Outputs[j]
		name := spec.Name
		if name == "" {
			name = o.Name
		}
		a.align()
		if s.cfg.MaxBatchSize == 0 { // one request, output unchanged
			mark := a.mark()
			a.take(o, 0, int(o.NumElements()))
			tens[j] = a.tensor(mark, name, o, carve(&shapes, o.Shape))
			continue
		}
		ragged := spec.Ragged
		perRow := int(tensor.NumElements(o.Shape[1:])) // elements per batch row
		inner := 0                                     // elements per position of dimension 1
		if ragged {
			inner = int(tensor.NumElements(o.Shape[2:]))
		}
		src := 0 // element offset of the request's first row in o
		for k, e := range part {
			shape := carve(&shapes, o.Shape)
			shape[0] = int64(e.rows)
			mark := a.mark()
			if !ragged || e.length == padLen {
				a.take(o, src, e.rows*perRow)
			} else {
				shape[1] = int64(e.length)
				for r := range e.rows {
					a.take(o, src+r*perRow, e.length*inner)
				}
			}
			tens[k*nOut+j] = a.tensor(mark, name, o, shape)
			src += e.rows * perRow
		}
	}
	for k := range part {
		res[k] = result{outs: tens[k*nOut : (k+1)*nOut : (k+1)*nOut]}
	}
	return nil
}

// carve cuts a copy of shape off the front of *slab.
func carve(slab *[]int64, shape []int64) []int64 {
	n := len(shape)
	out := (*slab)[:n:n]
	*slab = (*slab)[n:]
	copy(out, shape)
	return out
}

// arena holds one batch's copied output elements: fixed-size elements in
// data, BYTES elements as sub-slices of data listed in strs. Both are sized
// up front, so appends never reallocate and earlier sub-slices stay valid.
type arena struct {
	data     []byte
	strs     [][]byte
	dataSize int
	strsSize int
}

// mark is a position in an arena.
type mark struct{ data, strs int }

func (a *arena) reserve(o *tensor.Tensor) {
	if o.DType != tensor.Bytes {
		a.dataSize += len(o.Data) + 7 // room to align the output to 8 bytes
		return
	}
	a.strsSize += len(o.Strings)
	for _, str := range o.Strings {
		a.dataSize += len(str)
	}
}

func (a *arena) alloc() {
	a.data = make([]byte, 0, a.dataSize)
	if a.strsSize > 0 {
		a.strs = make([][]byte, 0, a.strsSize)
	}
}

// align pads data to a multiple of 8 bytes so the next output's elements are
// aligned for tensor.View.
func (a *arena) align() {
	if n := (len(a.data) + 7) &^ 7; n <= cap(a.data) {
		a.data = a.data[:n]
	}
}

func (a *arena) mark() mark { return mark{len(a.data), len(a.strs)} }

// take appends count elements of o starting at element from.
func (a *arena) take(o *tensor.Tensor, from, count int) {
	if o.DType != tensor.Bytes {
		size := o.DType.Size()
		a.data = append(a.data, o.Data[from*size:(from+count)*size]...)
		return
	}
	for _, str := range o.Strings[from : from+count] {
		d0 := len(a.data)
		a.data = append(a.data, str...)
		a.strs = append(a.strs, a.data[d0:len(a.data):len(a.data)])
	}
}

// tensor returns the elements appended since m as a tensor like o.
func (a *arena) tensor(m mark, name string, o *tensor.Tensor, shape []int64) tensor.Tensor {
	t := tensor.Tensor{Name: name, DType: o.DType, Shape: shape}
	if o.DType == tensor.Bytes {
		t.Strings = a.strs[m.strs:len(a.strs):len(a.strs)]
	} else {
		t.Data = a.data[m.data:len(a.data):len(a.data)]
	}
	return t
}
