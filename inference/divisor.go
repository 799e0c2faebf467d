package inference

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/aisle-ai/aisle/tensor"
)

// ONNX Runtime's integer Div, and Mod with fmod 0, divide with the CPU's
// integer division, which traps on a zero divisor, and on the most negative
// INT32 or INT64 divided by -1. The trap is SIGFPE inside C code, which Go
// cannot recover: one request would end the process and every model in it.
// Measured on ONNX Runtime 1.24.1 by feeding zeros, and minimum/-1 pairs, to
// every integer-typed ONNX node test (libonnx-testdata 1.12): only those
// two ops trap, for every integer width on a zero divisor and for 32 and
// 64 bits on minimum/-1 (8 and 16 bits are widened first); Mod with fmod 1
// uses fmod and does not trap. So a model is inspected at load, and a
// division the server cannot guard is refused before the runtime sees it.

// ErrUnsafeDivision reports a model with an integer division that could
// trap: a constant zero divisor, or a divisor computed inside the graph,
// whose values no request check can see.
var ErrUnsafeDivision = errors.New("unguardable integer division")

// InputGuard is a check on one model input, run on every request before it
// is batched: the input is (or, through Reshape, Gather and the like,
// supplies the values of) an operand of an integer division.
type InputGuard struct {
	Input string
	Node  string // the division it protects, for messages: `Div node "d"`
	// Values refused: zero (a divisor), -1 (a 32- or 64-bit divisor whose
	// dividend may be the minimum), the type's minimum (a dividend whose
	// divisor may be -1).
	Zero, MinusOne, Min bool
}

// passThrough lists ops whose output elements are a subset (or repetition)
// of their first input's: what holds for every element of the input holds
// for the output.
var passThrough = map[string]bool{
	"Identity": true, "Reshape": true, "Squeeze": true, "Unsqueeze": true, "Flatten": true,
	"Transpose": true, "Expand": true, "Tile": true, "Slice": true, "Split": true,
	"Gather": true, "GatherElements": true, "GatherND": true,
}

// sameType lists ops whose output has their first input's element type.
var sameType = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Mod": true, "Neg": true, "Abs": true,
	"Relu": true, "Max": true, "Min": true, "Sum": true, "Clip": true, "Pad": true, "Concat": true,
	"ReduceSum": true, "ReduceMax": true, "ReduceMin": true, "ReduceProd": true, "CumSum": true,
	"Sign": true, "Range": true, "Pow": true,
}

// operand is where a division operand's values come from: a request input,
// a constant read from the model, or both (an initializer a request may
// override); neither means computed inside the graph.
type operand struct {
	input string
	c     *constant
}

// inspectDivisions returns the request checks the integer divisions of
// g (parseGraph) need, or ErrUnsafeDivision naming a division that no
// check can make safe.
func inspectDivisions(g *onnxGraph) ([]InputGuard, error) {
	var guards []InputGuard
	add := func(gd InputGuard) {
		i := slices.IndexFunc(guards, func(x InputGuard) bool { return x.Input == gd.Input })
		if i < 0 {
			guards = append(guards, gd)
			return
		}
		guards[i].Zero, guards[i].MinusOne, guards[i].Min = guards[i].Zero || gd.Zero, guards[i].MinusOne || gd.MinusOne, guards[i].Min || gd.Min
	}
	for _, n := range g.nodes {
		if !isDefaultDomain(n.domain) || len(n.inputs) < 2 || !(n.op == "Div" || (n.op == "Mod" && n.ints["fmod"] == 0)) {
			continue
		}
		node := fmt.Sprintf("%s node %q", n.op, n.name)
		if n.inFunction {
			// Its operands are names of the function's own scope, which
			// this inspection does not resolve: it cannot prove the
			// division floating point or its divisor nonzero.
			return nil, fmt.Errorf("%w: %s is inside a model-local function, whose operands cannot be checked (inline the function)", ErrUnsafeDivision, node)
		}
		// Both operands and the result share one type; any of them
		// found integer makes the division integer, so a declared type
		// cannot hide one the graph's sources give.
		var elem int32
		for _, name := range append(n.inputs[:2:2], n.outputs...) {
			switch t := g.typeOf(name, 0); {
			case intSize(t) > 0:
				elem = t
			case elem == 0:
				elem = t
			}
			if intSize(elem) > 0 {
				break
			}
		}
		if elem != 0 && intSize(elem) == 0 {
			continue // floating point: no trap
		}
		div, num := g.operand(n.inputs[1], 0), g.operand(n.inputs[0], 0)
		switch {
		case div.c != nil && !div.c.ok:
			return nil, fmt.Errorf("%w: %s divides by constant %q, which is stored outside the model or too large to check for zeros", ErrUnsafeDivision, node, n.inputs[1])
		case div.c != nil && slices.Contains(div.c.vals, 0):
			return nil, fmt.Errorf("%w: %s divides by constant %q, which holds a zero (element %d): integer division by zero", ErrUnsafeDivision, node, n.inputs[1], slices.Index(div.c.vals, 0))
		case div.input == "" && div.c == nil:
			return nil, fmt.Errorf("%w: %s divides by %q, computed inside the graph with an integer (or undeterminable) type: a zero there would crash the runtime, and no request check can see it (divide by a graph input or a nonzero constant, or in floating point)", ErrUnsafeDivision, node, n.inputs[1])
		}
		if div.input != "" {
			add(InputGuard{Input: div.input, Node: node, Zero: true})
		}
		if elem = cmpOr(elem, div.elem(g)); elem != onnxInt32 && elem != onnxInt64 {
			continue
		}
		if div.input == "" && !slices.Contains(div.c.vals, -1) {
			continue // never -1
		}
		if num.input == "" && num.c != nil && num.c.ok && !slices.Contains(num.c.vals, minOf(elem)) {
			continue // never the minimum
		}
		switch {
		case num.input != "":
			add(InputGuard{Input: num.input, Node: node, Min: true})
		case div.input != "":
			add(InputGuard{Input: div.input, Node: node, MinusOne: true})
		default:
			return nil, fmt.Errorf("%w: %s divides %q, computed inside the graph, by a constant -1: the type's minimum divided by -1 overflows and would crash the runtime", ErrUnsafeDivision, node, n.inputs[0])
		}
	}
	return guards, nil
}

func cmpOr(a, b int32) int32 {
	if a != 0 {
		return a
	}
	return b
}

func (o operand) elem(g *onnxGraph) int32 {
	if o.input != "" {
		return g.types[o.input]
	}
	if o.c != nil {
		return o.c.elem
	}
	return 0
}

func minOf(elem int32) int64 {
	if elem == onnxInt32 {
		return math.MinInt32
	}
	return math.MinInt64
}

// operand follows name back through pass-through ops to a request input
// or a constant.
func (g *onnxGraph) operand(name string, depth int) operand {
	var o operand
	if name == "" { // an absent optional input: nothing to check
		return o
	}
	if g.inputs[name] {
		o.input = name
	}
	if c, ok := g.consts[name]; ok {
		c = c.decoded()
		g.consts[name] = c // decoded once, however many divisions share it
		o.c = &c
	}
	if o.input != "" || o.c != nil || depth > maxProtoDepth {
		return o
	}
	if p := g.producer[name]; p != nil && isDefaultDomain(p.domain) && passThrough[p.op] && len(p.inputs) > 0 {
		return g.operand(p.inputs[0], depth+1)
	}
	return o
}

// typeOf is name's element type, derived from the op that makes it where
// the op tells (a declaration cannot contradict the graph), else declared;
// 0 when it cannot be told.
func (g *onnxGraph) typeOf(name string, depth int) int32 {
	if t := g.derivedType(name, depth); t != 0 {
		return t
	}
	return g.types[name]
}

func (g *onnxGraph) derivedType(name string, depth int) int32 {
	p := g.producer[name]
	if p == nil || !isDefaultDomain(p.domain) || depth > maxProtoDepth {
		return 0
	}
	switch {
	case p.op == "Cast":
		return int32(p.ints["to"])
	case p.op == "CastLike" && len(p.inputs) > 1:
		return g.typeOf(p.inputs[1], depth+1)
	case p.op == "Shape" || p.op == "Size" || p.op == "NonZero" || p.op == "ArgMax" || p.op == "ArgMin":
		return onnxInt64
	case p.op == "TopK" && len(p.outputs) > 1 && p.outputs[1] == name:
		return onnxInt64
	case p.op == "Where" && len(p.inputs) > 1:
		return g.typeOf(p.inputs[1], depth+1)
	case slices.Contains([]string{"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"}, p.op):
		return onnxBool
	case (passThrough[p.op] || sameType[p.op] || p.op == "TopK") && len(p.inputs) > 0:
		return g.typeOf(p.inputs[0], depth+1)
	}
	return 0
}

// Check reports the first element of t that the guard refuses.
func (gd InputGuard) Check(t *tensor.Tensor) error {
	var vals func(int) int64
	n := 0
	switch t.DType {
	case tensor.Int8:
		s := tensor.View[int8](t.Data)
		n, vals = len(s), func(i int) int64 { return int64(s[i]) }
	case tensor.Int16:
		s := tensor.View[int16](t.Data)
		n, vals = len(s), func(i int) int64 { return int64(s[i]) }
	case tensor.Int32:
		s := tensor.View[int32](t.Data)
		n, vals = len(s), func(i int) int64 { return int64(s[i]) }
	case tensor.Int64:
		s := tensor.View[int64](t.Data)
		n, vals = len(s), func(i int) int64 { return s[i] }
	case tensor.Uint8:
		s := tensor.View[uint8](t.Data)
		n, vals = len(s), func(i int) int64 { return int64(s[i]) }
	case tensor.Uint16:
		s := tensor.View[uint16](t.Data)
		n, vals = len(s), func(i int) int64 { return int64(s[i]) }
	case tensor.Uint32:
		s := tensor.View[uint32](t.Data)
		n, vals = len(s), func(i int) int64 { return int64(s[i]) }
	case tensor.Uint64:
		s := tensor.View[uint64](t.Data)
		n, vals = len(s), func(i int) int64 { return int64(s[i]) }
	default:
		return nil
	}
	signed := t.DType == tensor.Int32 || t.DType == tensor.Int64
	lowest := int64(math.MinInt64)
	if t.DType == tensor.Int32 {
		lowest = math.MinInt32
	}
	for i := range n {
		switch v := vals(i); {
		case gd.Zero && v == 0:
			return fmt.Errorf("input %q element %d is 0, a divisor of %s: integer division by zero is refused", gd.Input, i, gd.Node)
		case gd.MinusOne && signed && v == -1:
			return fmt.Errorf("input %q element %d is -1, a divisor of %s whose dividend may be the %s minimum: that division overflows and is refused", gd.Input, i, gd.Node, t.DType)
		case gd.Min && signed && v == lowest:
			return fmt.Errorf("input %q element %d is the %s minimum %d, a dividend of %s whose divisor may be -1: that division overflows and is refused", gd.Input, i, t.DType, v, gd.Node)
		}
	}
	return nil
}
