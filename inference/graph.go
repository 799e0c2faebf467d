package inference

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// A second, shallow reading of the ONNX protobuf, beside externalRefs: the
// graph's nodes, inputs, declared types and small integer constants, which
// is what the divisor inspection (divisor.go) needs. Field numbers are
// onnx.proto3's (ONNX 1.16).

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

// graphNode is one NodeProto. Subgraph and function bodies are flattened
// into the same list: a subgraph's names are unique across its outer
// scopes (ONNX's SSA rule), a model-local function's are not, so a
// function's outputs are never registered as producers or constants.
type graphNode struct {
	op, domain, name string
	inputs, outputs  []string
	ints             map[string]int64 // INT attributes
	value            *constant        // Constant's value / value_int(s)
	inFunction       bool             // a model-local function's body
}

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

// onnxGraph is what the inspection knows about a model's names.
type onnxGraph struct {
	inputs   map[string]bool     // the main graph's inputs: request data
	types    map[string]int32    // declared element types
	consts   map[string]constant // initializers and Constant outputs
	producer map[string]*graphNode
	nodes    []*graphNode
}

func parseGraph(model []byte) (*onnxGraph, error) {
	g := &onnxGraph{inputs: map[string]bool{}, types: map[string]int32{},
		consts: map[string]constant{}, producer: map[string]*graphNode{}}
	err := eachField(model, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 7: // graph
			return g.readGraph(v, 0, false)
		case 25: // functions
			return eachField(v, func(num protowire.Number, v []byte, _ uint64) error {
				if num == 7 { // node
					return g.readNode(v, 1, true)
				}
				return nil
			})
		}
		return nil
	})
	return g, err
}

func (g *onnxGraph) readGraph(data []byte, depth int, inFunction bool) error {
	if depth > maxProtoDepth {
		return fmt.Errorf("graphs nested deeper than %d", maxProtoDepth)
	}
	return eachField(data, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1: // node
			return g.readNode(v, depth, inFunction)
		case 5: // initializer
			name, elem, err := tensorHead(v)
			if err == nil {
				g.consts[name] = constant{elem: elem, proto: v}
				g.types[name] = elem
			}
			return err
		case 11, 12, 13: // input, output, value_info
			name, elem, err := readValueInfo(v)
			if err == nil {
				g.types[name] = elem
				if num == 11 && depth == 0 {
					g.inputs[name] = true
				}
			}
			return err
		}
		return nil
	})
}

func (g *onnxGraph) readNode(data []byte, depth int, inFunction bool) error {
	n := &graphNode{ints: map[string]int64{}, inFunction: inFunction}
	err := eachField(data, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1:
			n.inputs = append(n.inputs, string(v))
		case 2:
			n.outputs = append(n.outputs, string(v))
		case 3:
			n.name = string(v)
		case 4:
			n.op = string(v)
		case 7:
			n.domain = string(v)
		case 5:
			return g.readAttribute(n, v, depth, inFunction)
		}
		return nil
	})
	if err != nil {
		return err
	}
	g.nodes = append(g.nodes, n)
	if inFunction {
		// A function's names are its own scope: registered here they
		// could shadow the graph's (a function's Constant "y" making the
		// graph's computed "y" look constant). Divisions inside a
		// function are refused instead (inspectDivisions).
		return nil
	}
	for _, out := range n.outputs {
		g.producer[out] = n
	}
	if n.value != nil && len(n.outputs) == 1 && n.op == "Constant" && isDefaultDomain(n.domain) {
		g.consts[n.outputs[0]] = *n.value
		g.types[n.outputs[0]] = n.value.elem
	}
	return nil
}

func (g *onnxGraph) readAttribute(n *graphNode, data []byte, depth int, inFunction bool) error {
	var name string
	var i int64
	var hasInt bool
	var ints []int64
	var t *constant
	err := eachField(data, func(num protowire.Number, v []byte, x uint64) error {
		switch num {
		case 1:
			name = string(v)
		case 3: // i
			i, hasInt = int64(x), true
		case 8: // ints, packed or not
			if v == nil {
				ints = append(ints, int64(x))
				return nil
			}
			return eachVarint(v, func(x uint64) { ints = append(ints, int64(x)) })
		case 5: // t
			_, elem, err := tensorHead(v)
			t = &constant{elem: elem, proto: v}
			return err
		case 6, 11: // g, graphs
			return g.readGraph(v, depth+1, inFunction)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if hasInt {
		n.ints[name] = i
	}
	switch name {
	case "value_int": // proto2: a zero may be written or left out
		n.value = &constant{elem: onnxInt64, vals: []int64{i}, ok: true}
	case "value_ints":
		n.value = &constant{elem: onnxInt64, vals: ints, ok: true}
	case "value_float", "value_floats":
		n.value = &constant{elem: onnxFloat}
	case "value":
		n.value = t // nil for a sparse value: unknown
	}
	return nil
}

// tensorHead reads a TensorProto's name and element type.
func tensorHead(data []byte) (name string, elem int32, err error) {
	err = eachField(data, func(num protowire.Number, v []byte, x uint64) error {
		switch num {
		case 2:
			elem = int32(x)
		case 8:
			name = string(v)
		}
		return nil
	})
	return name, elem, err
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
		case 2:
			c.elem = int32(x)
		case 9:
			raw = v
		case 13, 14: // external_data, data_location
			external = external || num == 13 || x != 0
		case 5, 7, 11: // int32_data, int64_data, uint64_data
			if v == nil {
				vals = append(vals, int64(x))
				return nil
			}
			if len(v) > maxConstElems*10 {
				external = true // too big to read: unknown
				return nil
			}
			return eachVarint(v, func(x uint64) { vals = append(vals, int64(x)) })
		}
		return nil
	})
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

func readValueInfo(data []byte) (name string, elem int32, err error) {
	err = eachField(data, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1:
			name = string(v)
		case 2: // TypeProto.tensor_type.elem_type
			return eachField(v, func(num protowire.Number, v []byte, _ uint64) error {
				if num != 1 {
					return nil
				}
				return eachField(v, func(num protowire.Number, _ []byte, x uint64) error {
					if num == 1 {
						elem = int32(x)
					}
					return nil
				})
			})
		}
		return nil
	})
	return name, elem, err
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

// eachField calls fn for every field of a message: v holds a
// length-delimited field's bytes (nil otherwise), x a varint's or fixed
// field's value.
func eachField(data []byte, fn func(num protowire.Number, v []byte, x uint64) error) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(data)
			if v == nil {
				v = []byte{}
			}
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(data)
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(data)
			x = uint64(u)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(data)
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if typ == protowire.BytesType || typ == protowire.VarintType || typ == protowire.Fixed32Type || typ == protowire.Fixed64Type {
			if err := fn(num, v, x); err != nil {
				return err
			}
		}
	}
	return nil
}

func eachVarint(data []byte, fn func(uint64)) error {
	for len(data) > 0 {
		x, n := protowire.ConsumeVarint(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		fn(x)
		data = data[n:]
	}
	return nil
}

func isDefaultDomain(d string) bool { return d == "" || d == "ai.onnx" }
