package servetest

import "google.golang.org/protobuf/encoding/protowire"

// Tiny ONNX models for tests, written with protowire (field numbers from
// onnx.proto3) so that a test can build the one graph it needs, such as an
// integer Div with a constant divisor, without Python or generated code.

// ONNX element types (onnx.TensorProto.DataType).
const (
	ONNXFloat  = 1
	ONNXUint8  = 2
	ONNXInt8   = 3
	ONNXInt16  = 5
	ONNXInt32  = 6
	ONNXInt64  = 7
	ONNXUint64 = 13
)

// ONNXValue is a graph input or output: a name, an element type and dims
// (-1 for a free dimension).
type ONNXValue struct {
	Name string
	Type int32
	Dims []int64
}

// ONNXTensor is an initializer or a Constant's value: raw little-endian
// data.
type ONNXTensor struct {
	Name string
	Type int32
	Dims []int64
	Raw  []byte
}

// ONNXNode is one node. Ints are INT attributes (Mod's fmod, Cast's to);
// Value, when set, is a Constant's value attribute.
type ONNXNode struct {
	Op      string
	Name    string
	Inputs  []string
	Outputs []string
	Ints    map[string]int64
	Value   *ONNXTensor
}

// ONNXGraph is a model's graph.
type ONNXGraph struct {
	Inputs       []ONNXValue
	Outputs      []ONNXValue
	Initializers []ONNXTensor
	Nodes        []ONNXNode
}

// ONNXModel serializes g as a ModelProto (IR 8, opset 17).
func ONNXModel(g ONNXGraph) []byte {
	var graph []byte
	for _, n := range g.Nodes {
		graph = msg(graph, 1, n.bytes())
	}
	graph = str(graph, 2, "g")
	for _, t := range g.Initializers {
		graph = msg(graph, 5, t.bytes())
	}
	for _, v := range g.Inputs {
		graph = msg(graph, 11, v.bytes())
	}
	for _, v := range g.Outputs {
		graph = msg(graph, 12, v.bytes())
	}
	var m []byte
	m = varint(m, 1, 8)
	m = msg(m, 8, varint(nil, 2, 17))
	m = msg(m, 7, graph)
	return m
}

func (n ONNXNode) bytes() []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = str(b, 1, in)
	}
	for _, out := range n.Outputs {
		b = str(b, 2, out)
	}
	if n.Name != "" {
		b = str(b, 3, n.Name)
	}
	b = str(b, 4, n.Op)
	for name, v := range n.Ints {
		a := str(nil, 1, name)
		a = varint(a, 3, uint64(v))
		a = varint(a, 20, 2) // AttributeType INT
		b = msg(b, 5, a)
	}
	if n.Value != nil {
		a := str(nil, 1, "value")
		a = msg(a, 5, n.Value.bytes())
		a = varint(a, 20, 4) // AttributeType TENSOR
		b = msg(b, 5, a)
	}
	return b
}

func (t ONNXTensor) bytes() []byte {
	var b []byte
	for _, d := range t.Dims {
		b = varint(b, 1, uint64(d))
	}
	b = varint(b, 2, uint64(t.Type))
	if t.Name != "" {
		b = str(b, 8, t.Name)
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, t.Raw)
}

func (v ONNXValue) bytes() []byte {
	var shape []byte
	for _, d := range v.Dims {
		if d < 0 {
			shape = msg(shape, 1, str(nil, 2, "n"))
		} else {
			shape = msg(shape, 1, varint(nil, 1, uint64(d)))
		}
	}
	tt := varint(nil, 1, uint64(v.Type))
	tt = msg(tt, 2, shape)
	return msg(str(nil, 1, v.Name), 2, msg(nil, 1, tt))
}

func msg(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func str(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func varint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}
