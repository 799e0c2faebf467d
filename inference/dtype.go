package inference

import (
	ort "github.com/yalue/onnxruntime_go"

	"github.com/aisle-ai/aisle/tensor"
)

var ortTypes = map[ort.TensorElementDataType]tensor.DType{
	ort.TensorElementDataTypeBool:     tensor.Bool,
	ort.TensorElementDataTypeUint8:    tensor.Uint8,
	ort.TensorElementDataTypeUint16:   tensor.Uint16,
	ort.TensorElementDataTypeUint32:   tensor.Uint32,
	ort.TensorElementDataTypeUint64:   tensor.Uint64,
	ort.TensorElementDataTypeInt8:     tensor.Int8,
	ort.TensorElementDataTypeInt16:    tensor.Int16,
	ort.TensorElementDataTypeInt32:    tensor.Int32,
	ort.TensorElementDataTypeInt64:    tensor.Int64,
	ort.TensorElementDataTypeFloat16:  tensor.FP16,
	ort.TensorElementDataTypeFloat:    tensor.FP32,
	ort.TensorElementDataTypeDouble:   tensor.FP64,
	ort.TensorElementDataTypeBFloat16: tensor.BF16,
	ort.TensorElementDataTypeString:   tensor.Bytes,
}

func fromORT(t ort.TensorElementDataType) (tensor.DType, bool) {
	d, ok := ortTypes[t]
	return d, ok
}

func toORT(d tensor.DType) (ort.TensorElementDataType, bool) {
	for k, v := range ortTypes {
		if v == d {
			return k, true
		}
	}
	return 0, false
}
