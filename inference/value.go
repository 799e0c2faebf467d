package inference

import (
	"fmt"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/aisle-ai/aisle/tensor"
)

// toValue wraps t's bytes as a runtime tensor without copying them.
func toValue(t *tensor.Tensor) (ort.Value, error) {
	shape := ort.NewShape(t.Shape...)
	if t.DType == tensor.Bytes {
		st, err := ort.NewStringTensor(shape)
		if err != nil {
			return nil, err
		}
		strs := make([]string, len(t.Strings))
		for i, s := range t.Strings {
			strs[i] = string(s)
		}
		if err := st.SetContents(strs); err != nil {
			st.Destroy()
			return nil, err
		}
		return st, nil
	}
	et, ok := toORT(t.DType)
	if !ok {
		return nil, fmt.Errorf("unsupported datatype %s", t.DType)
	}
	// A 0-d shape is a scalar and a zero-element tensor has no data: both
	// need the patched wrapper (see doc.go).
	return ort.NewCustomDataTensor(shape, t.Data, et)
}

// fromValue copies a runtime tensor's contents into a tensor.Tensor. The
// typed slices of onnxruntime_go are Go memory, so viewing them as bytes
// keeps them alive after the native value is destroyed.
func fromValue(v ort.Value) (tensor.Tensor, error) {
	shape := []int64(v.GetShape())
	switch x := v.(type) {
	case *ort.Tensor[float32]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.Tensor[float64]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.Tensor[int64]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.Tensor[int32]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.Tensor[int16]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.Tensor[int8]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.Tensor[uint64]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.Tensor[uint32]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.Tensor[uint16]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.Tensor[uint8]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.Tensor[bool]:
		return tensor.FromSlice("", shape, x.GetData()), nil
	case *ort.CustomDataTensor:
		dt, ok := fromORT(ort.TensorElementDataType(x.DataType()))
		if !ok {
			return tensor.Tensor{}, fmt.Errorf("unsupported element type %d", x.DataType())
		}
		return tensor.Tensor{DType: dt, Shape: shape, Data: x.GetData()}, nil
	case *ort.StringTensor:
		strs, err := x.GetContents()
		if err != nil {
			return tensor.Tensor{}, err
		}
		elems := make([][]byte, len(strs))
		for i, s := range strs {
			elems[i] = []byte(s)
		}
		return tensor.Tensor{DType: tensor.Bytes, Shape: shape, Strings: elems}, nil
	}
	return tensor.Tensor{}, fmt.Errorf("unsupported runtime value %T", v)
}
