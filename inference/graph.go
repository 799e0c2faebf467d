package inference

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// The one reading of the ONNX protobuf at load: the graph's nodes, inputs,
// declared types and small integer constants, which is what the divisor
// inspection (divisor.go) needs, and, in the same pass, every tensor's
// external-data location (external.go), which checkExternal confines to
// the model's folder. Field numbers are onnx.proto3's (ONNX 1.16).

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

// onnxGraph is what the load knows about a model: its names, for the
// inspection, and its external-data locations.
type onnxGraph struct {
	inputs   map[string]bool     // the main graph's inputs: request data
	types    map[string]int32    // declared element types
	consts   map[string]constant // initializers and Constant outputs
	producer map[string]*graphNode
	nodes    []*graphNode
	refs     []externalRef // every tensor's external-data locations, in file order
}

// parseGraph reads an ONNX ModelProto. Depths count messages from the
// ModelProto (0), so that a graph is at 1 and a node of it at 2, and any
// message past maxProtoDepth fails the read.
func parseGraph(model []byte) (*onnxGraph, error) {
	g := &onnxGraph{inputs: map[string]bool{}, types: map[string]int32{},
		consts: map[string]constant{}, producer: map[string]*graphNode{}}
	err := eachField(model, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 7: // graph
			return g.readGraph(v, 1, false)
		case 20: // training_info: external data only
			return walk(v, kindTrainingInfo, 1, &g.refs)
		case 25: // functions
			return g.readFunction(v, 1)
		}
		return nil
	})
	return g, err
}

// readFunction reads a model-local function's nodes (its attribute
// defaults for their external data only).
func (g *onnxGraph) readFunction(data []byte, depth int) error {
	if err := checkDepth(data, depth); err != nil {
		return err
	}
	return eachField(data, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 7: // node
			return g.readNode(v, depth+1, true)
		case 11: // attribute_proto
			return walk(v, kindAttribute, depth+1, &g.refs)
		}
		return nil
	})
}

// readGraph reads a GraphProto at depth; the main graph is the one at 1.
func (g *onnxGraph) readGraph(data []byte, depth int, inFunction bool) error {
	if err := checkDepth(data, depth); err != nil {
		return err
	}
	return eachField(data, func(num protowire.Number, v []byte, _ uint64) error {
		switch num {
		case 1: // node
			return g.readNode(v, depth+1, inFunction)
		case 5: // initializer
			name, elem, err := g.readTensor(v, depth+1)
			if err == nil {
				g.consts[name] = constant{elem: elem, proto: v}
				g.types[name] = elem
			}
			return err
		case 15: // sparse_initializer: external data only
			return walk(v, kindSparseTensor, depth+1, &g.refs)
		case 11, 12, 13: // input, output, value_info
			name, elem, err := readValueInfo(v)
			if err == nil {
				g.types[name] = elem
				if num == 11 && depth == 1 {
					g.inputs[name] = true
				}
			}
			return err
		}
		return nil
	})
}

// readTensor reads a TensorProto's name and element type at depth,
// recording its external data.
func (g *onnxGraph) readTensor(data []byte, depth int) (name string, elem int32, err error) {
	if err := checkDepth(data, depth); err != nil {
		return "", 0, err
	}
	return readTensor(data, &g.refs)
}

func (g *onnxGraph) readNode(data []byte, depth int, inFunction bool) error {
	if err := checkDepth(data, depth); err != nil {
		return err
	}
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
			return g.readAttribute(n, v, depth+1, inFunction)
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
	if err := checkDepth(data, depth); err != nil {
		return err
	}
	var name string
	var i int64
	var hasInt bool
	var ints []int64
	var tooMany bool // more ints than maxConstElems: the attribute's values are unknown
	var t *constant
	err := eachField(data, func(num protowire.Number, v []byte, x uint64) error {
		switch num {
		case 1:
			name = string(v)
		case 3: // i
			i, hasInt = int64(x), true
		case 8: // ints, packed or not; capped like a constant tensor (maxConstElems)
			switch {
			case tooMany:
			case v == nil && len(ints) < maxConstElems:
				ints = append(ints, int64(x))
			case v != nil && len(ints)+varints(v) <= maxConstElems:
				return eachVarint(v, func(x uint64) { ints = append(ints, int64(x)) })
			default:
				tooMany, ints = true, nil
			}
			return nil
		case 5: // t
			_, elem, err := g.readTensor(v, depth+1)
			t = &constant{elem: elem, proto: v}
			return err
		case 10: // tensors: external data only
			_, _, err := g.readTensor(v, depth+1)
			return err
		case 6, 11: // g, graphs
			return g.readGraph(v, depth+1, inFunction)
		case 22, 23: // sparse_tensor, sparse_tensors: external data only
			return walk(v, kindSparseTensor, depth+1, &g.refs)
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
		n.value = &constant{elem: onnxInt64, vals: ints, ok: !tooMany}
	case "value_float", "value_floats":
		n.value = &constant{elem: onnxFloat}
	case "value":
		n.value = t // nil for a sparse value: unknown
	}
	return nil
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

// eachField calls fn for every field of a message: v holds a
// length-delimited field's bytes (nil otherwise), x a varint's or fixed
// field's value.
func eachField(data []byte, fn func(num protowire.Number, v []byte, x uint64) error) error {
	return eachTypedField(data, func(num protowire.Number, _ protowire.Type, v []byte, x uint64) error {
		return fn(num, v, x)
	})
}

// eachTypedField is eachField telling fn each field's wire type too.
func eachTypedField(data []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
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
			if err := fn(num, typ, v, x); err != nil {
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
