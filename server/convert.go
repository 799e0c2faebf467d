package server

import (
	"errors"
	"fmt"

	"github.com/aisle-ai/aisle/excerpt"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// errBadTensor reports a request tensor that cannot be decoded; toStatus
// maps it to INVALID_ARGUMENT.
var errBadTensor = errors.New("bad tensor")

// requestTensors decodes a ModelInferRequest's inputs. Raw contents are used
// in place; typed contents are packed into bytes once. It reports whether
// outputs go back raw: when the inputs came raw, or when there are no
// inputs to follow (Triton answers raw always), so every output of a model
// without inputs, FP16 included, can be returned.
func requestTensors(req *pb.ModelInferRequest) ([]tensor.Tensor, bool, error) {
	raw := len(req.RawInputContents) > 0 || len(req.Inputs) == 0
	if raw && len(req.RawInputContents) != len(req.Inputs) {
		return nil, false, fmt.Errorf("%w: %d raw_input_contents for %d inputs; give one per input, in order",
			errBadTensor, len(req.RawInputContents), len(req.Inputs))
	}
	out := make([]tensor.Tensor, len(req.Inputs))
	for i, in := range req.Inputs {
		dt, err := tensor.ParseDType(in.Datatype)
		if err != nil {
			return nil, false, fmt.Errorf("%w: input %s: %v", errBadTensor, excerpt.Quote(in.Name), err)
		}
		t := tensor.Tensor{Name: in.Name, DType: dt, Shape: in.Shape}
		n := tensor.NumElements(in.Shape)
		if n < 0 {
			return nil, false, fmt.Errorf("%w: input %s: invalid shape %s", errBadTensor, excerpt.Quote(in.Name), excerpt.Shape(in.Shape))
		}
		switch {
		case raw && in.Contents != nil:
			return nil, false, fmt.Errorf("%w: input %s sets contents while raw_input_contents is used", errBadTensor, excerpt.Quote(in.Name))
		case raw:
			err = fromRaw(&t, req.RawInputContents[i], n)
		default:
			err = fromContents(&t, in.Contents, n)
		}
		if err != nil {
			return nil, false, fmt.Errorf("%w: input %s: %v", errBadTensor, excerpt.Quote(in.Name), err)
		}
		out[i] = t
	}
	return out, raw, nil
}

func fromRaw(t *tensor.Tensor, b []byte, n int64) error {
	if t.DType == tensor.Bytes {
		s, err := tensor.DecodeStrings(b, n)
		t.Strings = s
		return err
	}
	want := t.ByteSize() // -1 when the byte count overflows
	if want < 0 {
		return fmt.Errorf("shape %s of %s needs more bytes than a request can hold", excerpt.Shape(t.Shape), t.DType)
	}
	if int64(len(b)) != want {
		return fmt.Errorf("raw contents have %d bytes; shape %s of %s needs %d", len(b), excerpt.Shape(t.Shape), t.DType, want)
	}
	t.Data = b
	return nil
}

// fromContents packs typed contents. Each type reads the field the KServe
// protocol assigns it; the element count must match the shape.
func fromContents(t *tensor.Tensor, c *pb.InferTensorContents, n int64) error {
	if c == nil {
		c = &pb.InferTensorContents{}
	}
	var got int
	switch t.DType {
	case tensor.Bool:
		got, t.Data = len(c.BoolContents), packBool(c.BoolContents)
	case tensor.Int8:
		got, t.Data = len(c.IntContents), tensor.AsBytes(narrow[int8](c.IntContents))
	case tensor.Int16:
		got, t.Data = len(c.IntContents), tensor.AsBytes(narrow[int16](c.IntContents))
	case tensor.Int32:
		got, t.Data = len(c.IntContents), tensor.AsBytes(c.IntContents)
	case tensor.Int64:
		got, t.Data = len(c.Int64Contents), tensor.AsBytes(c.Int64Contents)
	case tensor.Uint8:
		got, t.Data = len(c.UintContents), tensor.AsBytes(narrow[uint8](c.UintContents))
	case tensor.Uint16:
		got, t.Data = len(c.UintContents), tensor.AsBytes(narrow[uint16](c.UintContents))
	case tensor.Uint32:
		got, t.Data = len(c.UintContents), tensor.AsBytes(c.UintContents)
	case tensor.Uint64:
		got, t.Data = len(c.Uint64Contents), tensor.AsBytes(c.Uint64Contents)
	case tensor.FP32:
		got, t.Data = len(c.Fp32Contents), tensor.AsBytes(c.Fp32Contents)
	case tensor.FP64:
		got, t.Data = len(c.Fp64Contents), tensor.AsBytes(c.Fp64Contents)
	case tensor.Bytes:
		got, t.Strings = len(c.BytesContents), c.BytesContents
	default:
		return fmt.Errorf("%s has no typed contents field; send it in raw_input_contents", t.DType)
	}
	if int64(got) != n {
		return fmt.Errorf("contents have %d elements; shape %s needs %d", got, excerpt.Shape(t.Shape), n)
	}
	return nil
}

func packBool(b []bool) []byte {
	out := make([]byte, len(b))
	for i, v := range b {
		if v {
			out[i] = 1
		}
	}
	return out
}

// narrow converts the protocol's widened integers to the element type; out
// of range values wrap, as Triton's do.
func narrow[T int8 | int16 | uint8 | uint16, S int32 | uint32](s []S) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = T(v)
	}
	return out
}

// responseTensors encodes outputs, raw when the client sent raw inputs
// (as Triton does) and typed otherwise.
func responseTensors(resp *pb.ModelInferResponse, outs []tensor.Tensor, raw bool) error {
	for i := range outs {
		t := &outs[i]
		o := &pb.ModelInferResponse_InferOutputTensor{Name: t.Name, Datatype: t.DType.String(), Shape: t.Shape}
		if raw {
			if t.DType == tensor.Bytes {
				resp.RawOutputContents = append(resp.RawOutputContents, tensor.EncodeStrings(t.Strings))
			} else {
				resp.RawOutputContents = append(resp.RawOutputContents, t.Data)
			}
		} else {
			c, err := toContents(t)
			if err != nil {
				return err
			}
			o.Contents = c
		}
		resp.Outputs = append(resp.Outputs, o)
	}
	return nil
}

func toContents(t *tensor.Tensor) (*pb.InferTensorContents, error) {
	c := &pb.InferTensorContents{}
	switch t.DType {
	case tensor.Bool:
		for _, b := range t.Data {
			c.BoolContents = append(c.BoolContents, b != 0)
		}
	case tensor.Int8:
		c.IntContents = widen[int32](tensor.View[int8](t.Data))
	case tensor.Int16:
		c.IntContents = widen[int32](tensor.View[int16](t.Data))
	case tensor.Int32:
		c.IntContents = append([]int32(nil), tensor.View[int32](t.Data)...)
	case tensor.Int64:
		c.Int64Contents = append([]int64(nil), tensor.View[int64](t.Data)...)
	case tensor.Uint8:
		c.UintContents = widen[uint32](tensor.View[uint8](t.Data))
	case tensor.Uint16:
		c.UintContents = widen[uint32](tensor.View[uint16](t.Data))
	case tensor.Uint32:
		c.UintContents = append([]uint32(nil), tensor.View[uint32](t.Data)...)
	case tensor.Uint64:
		c.Uint64Contents = append([]uint64(nil), tensor.View[uint64](t.Data)...)
	case tensor.FP32:
		c.Fp32Contents = append([]float32(nil), tensor.View[float32](t.Data)...)
	case tensor.FP64:
		c.Fp64Contents = append([]float64(nil), tensor.View[float64](t.Data)...)
	case tensor.Bytes:
		c.BytesContents = t.Strings
	default:
		return nil, fmt.Errorf("%w: output %q is %s, which has no typed contents field; request raw outputs by sending raw inputs",
			errBadTensor, t.Name, t.DType)
	}
	return c, nil
}

func widen[T int32 | uint32, S int8 | int16 | uint8 | uint16](s []S) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = T(v)
	}
	return out
}
