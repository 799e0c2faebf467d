package inference_test

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/inference"
	st "github.com/aisle-ai/aisle/internal/servetest"
	"github.com/aisle-ai/aisle/tensor"
	"google.golang.org/protobuf/encoding/protowire"
)

func le32(v ...int32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

// divGraph is z = x <op> d, the divisor d made by nodes (or an
// initializer) the case adds.
func divGraph(op string, typ int32, d string, extra ...st.ONNXNode) st.ONNXGraph {
	n := st.ONNXNode{Op: op, Inputs: []string{"x", d}, Outputs: []string{"z"}, Name: "div"}
	return st.ONNXGraph{
		Inputs:  []st.ONNXValue{{Name: "x", Type: typ, Dims: []int64{2}}},
		Outputs: []st.ONNXValue{{Name: "z", Type: typ, Dims: []int64{2}}},
		Nodes:   append(extra, n),
	}
}

func TestDivisionsInspected(t *testing.T) {
	withY := func(g st.ONNXGraph, typ int32) st.ONNXGraph {
		g.Inputs = append(g.Inputs, st.ONNXValue{Name: "y", Type: typ, Dims: []int64{2}})
		return g
	}
	const2 := st.ONNXTensor{Name: "c", Type: st.ONNXInt32, Dims: []int64{2}, Raw: le32(2, 3)}
	zero := st.ONNXTensor{Name: "c", Type: st.ONNXInt32, Dims: []int64{2}, Raw: le32(2, 0)}
	minus1 := st.ONNXTensor{Name: "c", Type: st.ONNXInt32, Dims: []int64{2}, Raw: le32(-1, 3)}
	shape := st.ONNXTensor{Name: "s", Type: st.ONNXInt64, Dims: []int64{1}, Raw: binary.LittleEndian.AppendUint64(nil, 2)}
	withInit := func(g st.ONNXGraph, ts ...st.ONNXTensor) st.ONNXGraph { g.Initializers = ts; return g }
	cases := []struct {
		name   string
		g      st.ONNXGraph
		guards []inference.InputGuard // nil: no guard
		refuse string                 // non-empty: ErrUnsafeDivision with this text
	}{
		{name: "uint8 input divisor", g: withY(divGraph("Div", st.ONNXUint8, "y"), st.ONNXUint8),
			guards: []inference.InputGuard{{Input: "y", Node: `Div node "div"`, Zero: true}}},
		{name: "divisor reshaped from an input", g: withInit(withY(divGraph("Div", st.ONNXInt32, "r",
			st.ONNXNode{Op: "Reshape", Inputs: []string{"y", "s"}, Outputs: []string{"r"}}), st.ONNXInt32), shape),
			guards: []inference.InputGuard{{Input: "y", Node: `Div node "div"`, Zero: true}, {Input: "x", Node: `Div node "div"`, Min: true}}},
		{name: "nonzero initializer", g: withInit(divGraph("Div", st.ONNXInt32, "c"), const2)},
		{name: "initializer -1 guards the dividend's minimum", g: withInit(divGraph("Div", st.ONNXInt32, "c"), minus1),
			guards: []inference.InputGuard{{Input: "x", Node: `Div node "div"`, Min: true}}},
		{name: "zero initializer", g: withInit(divGraph("Div", st.ONNXInt32, "c"), zero), refuse: `constant "c", which holds a zero (element 1)`},
		{name: "zero Constant node", g: divGraph("Mod", st.ONNXInt32, "k",
			st.ONNXNode{Op: "Constant", Outputs: []string{"k"}, Value: &st.ONNXTensor{Type: st.ONNXInt32, Dims: []int64{2}, Raw: le32(0, 0)}}),
			refuse: `Mod node "div" divides by constant "k", which holds a zero (element 0)`},
		{name: "fmod 1 does not trap", g: func() st.ONNXGraph {
			g := withInit(divGraph("Mod", st.ONNXInt32, "c"), zero)
			g.Nodes[0].Ints = map[string]int64{"fmod": 1}
			return g
		}()},
		{name: "computed integer divisor", g: withInit(withY(divGraph("Div", st.ONNXInt32, "sum",
			st.ONNXNode{Op: "Add", Inputs: []string{"y", "c"}, Outputs: []string{"sum"}}), st.ONNXInt32), const2),
			refuse: `divides by "sum", computed inside the graph`},
		{name: "a float declaration cannot hide an integer divisor", g: func() st.ONNXGraph {
			g := divGraph("Div", st.ONNXInt32, "sum", st.ONNXNode{Op: "Add", Inputs: []string{"x", "x"}, Outputs: []string{"sum"}})
			g.Outputs = append(g.Outputs, st.ONNXValue{Name: "sum", Type: st.ONNXFloat, Dims: []int64{2}})
			return g
		}(), refuse: `divides by "sum", computed inside the graph`},
		{name: "computed float divisor", g: withY(divGraph("Div", st.ONNXFloat, "sum",
			st.ONNXNode{Op: "Add", Inputs: []string{"y", "y"}, Outputs: []string{"sum"}}), st.ONNXFloat)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := inference.ParseModel(c.name, st.ONNXModel(c.g))
			if c.refuse != "" {
				if !errors.Is(err, inference.ErrUnsafeDivision) || !strings.Contains(err.Error(), c.refuse) {
					t.Fatalf("err = %v; want ErrUnsafeDivision with %q", err, c.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Guards) != len(c.guards) {
				t.Fatalf("guards %+v; want %+v", m.Guards, c.guards)
			}
			for i := range c.guards {
				if m.Guards[i] != c.guards[i] {
					t.Fatalf("guards %+v; want %+v", m.Guards, c.guards)
				}
			}
		})
	}
}

func TestGuardCheck(t *testing.T) {
	in := func(dt tensor.DType, data []byte) *tensor.Tensor {
		return &tensor.Tensor{Name: "y", DType: dt, Shape: []int64{int64(len(data) / dt.Size())}, Data: data}
	}
	zero := inference.InputGuard{Input: "y", Node: `Div node "d"`, Zero: true}
	if err := zero.Check(in(tensor.Uint8, []byte{3, 1, 0})); err == nil || !strings.Contains(err.Error(), `input "y" element 2 is 0, a divisor of Div node "d"`) {
		t.Fatalf("zero divisor: %v", err)
	}
	if err := zero.Check(in(tensor.Uint8, []byte{3, 1, 255})); err != nil {
		t.Fatal(err)
	}
	minus := inference.InputGuard{Input: "y", Node: `Div node "d"`, MinusOne: true}
	if err := minus.Check(in(tensor.Int32, le32(4, -1))); err == nil || !strings.Contains(err.Error(), "element 1 is -1") {
		t.Fatalf("-1 divisor: %v", err)
	}
	if err := minus.Check(in(tensor.Int8, []byte{0xff})); err != nil {
		t.Fatalf("int8 -1 cannot overflow, yet: %v", err)
	}
	low := inference.InputGuard{Input: "y", Node: `Div node "d"`, Min: true}
	if err := low.Check(in(tensor.Int32, le32(1, -1<<31))); err == nil || !strings.Contains(err.Error(), "element 1 is the INT32 minimum") {
		t.Fatalf("minimum dividend: %v", err)
	}
}

// TestGuardedModelRuns checks that the models the inspection lets through
// still load and run: a guarded uint8 Div answers 255/5.
func TestGuardedModelRuns(t *testing.T) {
	g := divGraph("Div", st.ONNXUint8, "y")
	g.Inputs = append(g.Inputs, st.ONNXValue{Name: "y", Type: st.ONNXUint8, Dims: []int64{2}})
	m, err := inference.ParseModel("div", st.ONNXModel(g))
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(inference.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	out, err := s.Run(context.Background(), []tensor.Tensor{
		{Name: "x", DType: tensor.Uint8, Shape: []int64{2}, Data: []byte{255, 7}},
		{Name: "y", DType: tensor.Uint8, Shape: []int64{2}, Data: []byte{5, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Data; got[0] != 51 || got[1] != 3 {
		t.Fatalf("got %v; want [51 3]", got)
	}
}

// withFunction appends a model-local function (ModelProto.functions) whose
// body is the given NodeProtos, encoded by hand: servetest builds graphs.
func withFunction(model []byte, nodes ...[]byte) []byte {
	var fn []byte
	fn = protowire.AppendTag(fn, 1, protowire.BytesType)
	fn = protowire.AppendString(fn, "f")
	for _, n := range nodes {
		fn = protowire.AppendTag(fn, 7, protowire.BytesType)
		fn = protowire.AppendBytes(fn, n)
	}
	model = protowire.AppendTag(model, 25, protowire.BytesType)
	return protowire.AppendBytes(model, fn)
}

// nodeProto is a NodeProto with op, inputs and outputs only.
func nodeProto(op string, in, out []string) []byte {
	var b []byte
	for _, s := range in {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range out {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	return protowire.AppendString(b, op)
}

// TestFunctionScope: a model-local function's names are its own scope. A
// function defining "y" as Identity(x) must not make the graph's computed
// y = x - x look like the request input x (it was once guarded as such,
// and divided by zero); a division inside a function is refused.
func TestFunctionScope(t *testing.T) {
	g := divGraph("Div", st.ONNXInt32, "y", st.ONNXNode{Op: "Sub", Inputs: []string{"x", "x"}, Outputs: []string{"y"}})
	shadow := withFunction(st.ONNXModel(g), nodeProto("Identity", []string{"x"}, []string{"y"}))
	if _, err := inference.ParseModel("shadow", shadow); !errors.Is(err, inference.ErrUnsafeDivision) || !strings.Contains(err.Error(), `divides by "y", computed inside the graph`) {
		t.Fatalf("shadowed divisor: err = %v; want it refused as computed", err)
	}
	g = divGraph("Div", st.ONNXFloat, "x")
	inner := withFunction(st.ONNXModel(g), nodeProto("Div", []string{"a", "b"}, []string{"c"}))
	if _, err := inference.ParseModel("inner", inner); !errors.Is(err, inference.ErrUnsafeDivision) || !strings.Contains(err.Error(), "model-local function") {
		t.Fatalf("division in a function: err = %v; want it refused", err)
	}
}
