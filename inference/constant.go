package inference

import (
	"encoding/binary"

	"google.golang.org/protobuf/encoding/protowire"
)

// The integer constants a model stores, as the divisor inspection
// (divisor.go) reads them: the graph reader (graph.go) keeps each
// constant's TensorProto, and only a division's operands are decoded.

// ONNX element types (TensorProto.DataType) the inspection tells apart.
const (
	onnxFloat  = 1
	onnxUint8  = 2
	onnxInt8   = 3
	onnxUint16 = 4
	onnxInt16  = 5
	onnxInt32  = 6
	onnxInt64  = 7
	onnxBool   = 9
	onnxUint32 = 12
	onnxUint64 = 13
)

// maxConstElems bounds the constant elements decoded per tensor: divisors
// are scalars or short vectors, and a bigger integer constant used as a
// divisor is treated as unknown (so refused) rather than decoded.
const maxConstElems = 1 << 20

// constant is a tensor stored in the model: its element type and, once
// decoded (integer types only), its values; ok false when they cannot be
// read (external data, too many elements). The values are decoded only for
// a division's operands, so a model's large integer tables cost nothing.
type constant struct {
	elem  int32
	proto []byte  // the TensorProto, still to decode; nil once decoded
	vals  []int64 // little-endian bit patterns widened to int64
	ok    bool
}

// decoded returns c with its values read.
func (c constant) decoded() constant {
	if c.proto == nil {
		return c
	}
	d, err := decodeTensor(c.proto)
	if err != nil {
		return constant{elem: c.elem}
	}
	return d
}

// decodeTensor reads a TensorProto's element type and, for an integer
// tensor stored in the model, its values.
func decodeTensor(data []byte) (constant, error) {
	var raw []byte
	var vals []int64
	var external bool
	c := constant{}
	err := eachField(data, func(num protowire.Number, v []byte, x uint64) error {
		switch num {
		case fieldTensorDataType:
			c.elem = int32(x)
		case 9: // raw_data
			raw = v
		case fieldExternalData, fieldDataLocation:
			external = external || num == fieldExternalData || x != 0
		case 5, 7, 11: // int32_data, int64_data, uint64_data
			if external || len(vals) > maxConstElems {
				return nil // unknown already: read no further
			}
			if v == nil {
				vals = append(vals, int64(x))
				return nil
			}
			if len(vals)+varints(v) > maxConstElems {
				external = true // too big to read: unknown
				return nil
			}
			return eachVarint(v, func(x uint64) { vals = append(vals, int64(x)) })
		}
		return nil
	})
	// The cap holds over every packed and unpacked field together: several
	// fields each under it used to add up past it (up to 8× the file's size
	// in memory).
	external = external || len(vals) > maxConstElems
	size := intSize(c.elem)
	switch {
	case err != nil || external || size == 0:
	case raw != nil:
		if len(raw)%size == 0 && len(raw)/size <= maxConstElems {
			c.vals, c.ok = decodeRaw(raw, size, c.elem), true
		}
	default:
		c.vals, c.ok = vals, true
		for i, v := range c.vals { // int32_data holds narrower types widened
			c.vals[i] = signExtend(v, c.elem)
		}
	}
	return c, err
}

// intSize is the byte size of an integer element type, 0 for the others.
func intSize(elem int32) int {
	switch elem {
	case onnxUint8, onnxInt8:
		return 1
	case onnxUint16, onnxInt16:
		return 2
	case onnxInt32, onnxUint32:
		return 4
	case onnxInt64, onnxUint64:
		return 8
	}
	return 0
}

func decodeRaw(raw []byte, size int, elem int32) []int64 {
	out := make([]int64, len(raw)/size)
	for i := range out {
		b := raw[i*size:]
		var v uint64
		switch size {
		case 1:
			v = uint64(b[0])
		case 2:
			v = uint64(binary.LittleEndian.Uint16(b))
		case 4:
			v = uint64(binary.LittleEndian.Uint32(b))
		default:
			v = binary.LittleEndian.Uint64(b)
		}
		out[i] = signExtend(int64(v), elem)
	}
	return out
}

// signExtend reads the low bits of v as elem: signed types are sign
// extended, unsigned ones masked.
func signExtend(v int64, elem int32) int64 {
	switch elem {
	case onnxInt8:
		return int64(int8(v))
	case onnxInt16:
		return int64(int16(v))
	case onnxInt32:
		return int64(int32(v))
	case onnxUint8:
		return int64(uint8(v))
	case onnxUint16:
		return int64(uint16(v))
	case onnxUint32:
		return int64(uint32(v))
	}
	return v
}

// varints counts the varints packed in v (a varint ends at a byte < 0x80),
// so the cap is checked before any is decoded.
func varints(v []byte) int {
	n := 0
	for _, b := range v {
		if b < 0x80 {
			n++
		}
	}
	return n
}
