package server

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/aisle-ai/aisle/tensor"
)

// The ONNX backend node tests (onnx/backend/test/data/node) as Debian's
// libonnx-testdata ships them: each case directory holds model.onnx and
// test_data_set_*/input_<i>.pb and output_<i>.pb, each a serialized
// onnx.TensorProto for a tensor-typed graph input or output. A small
// protowire decoder reads the few fields needed, so no generated ONNX code
// is carried.

// onnxTestdataDir is where scripts/setup-onnx-testdata.sh puts the cases,
// relative to the repository root.
const onnxTestdataDir = "third_party/onnx-testdata/node"

// onnxValue is a graph input or output: its name and, for a tensor, its
// ONNX element type (0 for sequences, maps, optionals and sparse tensors).
type onnxValue struct {
	name     string
	elemType int32
}

// onnxCase is one node test.
type onnxCase struct {
	name    string
	dir     string
	inputs  []onnxValue // graph inputs that are not initializers
	outputs []onnxValue
	sets    []string // test_data_set_* directories
}

// numeric reports whether every input and output is a tensor of a numeric
// or boolean element type aisle serves (no strings, sequences, maps,
// optionals or complex and 8-bit float types).
func (c *onnxCase) numeric() bool {
	for _, v := range append(append([]onnxValue(nil), c.inputs...), c.outputs...) {
		if dt, ok := onnxDTypes[v.elemType]; !ok || dt == tensor.Bytes {
			return false
		}
	}
	return true
}

// onnxDTypes maps onnx.TensorProto.DataType to aisle's element types.
var onnxDTypes = map[int32]tensor.DType{
	1: tensor.FP32, 2: tensor.Uint8, 3: tensor.Int8, 4: tensor.Uint16, 5: tensor.Int16,
	6: tensor.Int32, 7: tensor.Int64, 8: tensor.Bytes, 9: tensor.Bool, 10: tensor.FP16,
	11: tensor.FP64, 12: tensor.Uint32, 13: tensor.Uint64, 16: tensor.BF16,
}

// findOnnxTestdata returns the node test directory, looking in the working
// directory's parents, or skips the test when the data is not installed.
func findOnnxTestdata(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, onnxTestdataDir)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("%s not found: run scripts/setup-onnx-testdata.sh (make test does)", onnxTestdataDir)
		}
		dir = parent
	}
}

// readOnnxCases reads every case directory under root, in name order.
func readOnnxCases(t testing.TB, root string) []onnxCase {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []onnxCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		model, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			continue
		}
		c := onnxCase{name: e.Name(), dir: dir}
		if c.inputs, c.outputs, err = graphValues(model); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		c.sets, _ = filepath.Glob(filepath.Join(dir, "test_data_set_*"))
		sort.Strings(c.sets)
		out = append(out, c)
	}
	return out
}

// fields calls fn for each field of the protobuf message b.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(b)
			x = uint64(u)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// graphValues reads ModelProto.graph's inputs (less its initializers) and
// outputs.
func graphValues(model []byte) (inputs, outputs []onnxValue, err error) {
	var graph []byte
	err = fields(model, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		if num == 7 { // ModelProto.graph
			graph = v
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	inits := map[string]bool{}
	var ins []onnxValue
	err = fields(graph, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case 5: // GraphProto.initializer
			name, err := tensorName(v)
			inits[name] = true
			return err
		case 11, 12: // GraphProto.input, output
			val, err := valueInfo(v)
			if num == 11 {
				ins = append(ins, val)
			} else {
				outputs = append(outputs, val)
			}
			return err
		}
		return nil
	})
	for _, in := range ins {
		if !inits[in.name] {
			inputs = append(inputs, in)
		}
	}
	return inputs, outputs, err
}

func tensorName(b []byte) (string, error) {
	var name string
	err := fields(b, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		if num == 8 {
			name = string(v)
		}
		return nil
	})
	return name, err
}

// valueInfo reads ValueInfoProto{name = 1, type = 2}; TypeProto.tensor_type
// is field 1 and its elem_type field 1.
func valueInfo(b []byte) (onnxValue, error) {
	var val onnxValue
	err := fields(b, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case 1:
			val.name = string(v)
		case 2:
			return fields(v, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
				if num != 1 {
					return nil
				}
				return fields(v, func(num protowire.Number, _ protowire.Type, _ []byte, x uint64) error {
					if num == 1 {
						val.elemType = int32(x)
					}
					return nil
				})
			})
		}
		return nil
	})
	return val, err
}

// readTensorProto decodes a serialized onnx.TensorProto: dims = 1,
// data_type = 2, float_data = 4, int32_data = 5, string_data = 6,
// int64_data = 7, name = 8, raw_data = 9, double_data = 10, uint64_data = 11.
// Repeated numbers may be packed or not.
func readTensorProto(b []byte) (tensor.Tensor, error) {
	var (
		t        tensor.Tensor
		elemType int32
		raw      []byte
		hasRaw   bool
		nums     []uint64 // int32_data, int64_data, uint64_data or the bits of float_data / double_data
	)
	t.Shape = []int64{}
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			return repeated(typ, v, x, protowire.VarintType, func(u uint64) { t.Shape = append(t.Shape, int64(u)) })
		case 2:
			elemType = int32(x)
		case 4:
			return repeated(typ, v, x, protowire.Fixed32Type, func(u uint64) { nums = append(nums, u) })
		case 5, 7, 11:
			return repeated(typ, v, x, protowire.VarintType, func(u uint64) { nums = append(nums, u) })
		case 10:
			return repeated(typ, v, x, protowire.Fixed64Type, func(u uint64) { nums = append(nums, u) })
		case 6:
			t.Strings = append(t.Strings, v)
		case 8:
			t.Name = string(v)
		case 9:
			raw, hasRaw = v, true
		case 13, 14:
			if num == 14 && x == 1 {
				return fmt.Errorf("external data is not supported")
			}
		}
		return nil
	})
	if err != nil {
		return t, err
	}
	dt, ok := onnxDTypes[elemType]
	if !ok {
		return t, fmt.Errorf("element type %d is not served", elemType)
	}
	t.DType = dt
	n := tensor.NumElements(t.Shape)
	switch {
	case dt == tensor.Bytes:
		if t.Strings == nil {
			t.Strings = [][]byte{}
		}
	case hasRaw:
		t.Data = raw
	default:
		size := dt.Size()
		t.Data = make([]byte, 0, int(n)*size)
		// Each value is stored in its field's width (int32_data holds every
		// type of 32 bits or less); the low bytes are the element.
		for _, u := range nums {
			t.Data = binary.LittleEndian.AppendUint64(t.Data, u)[:len(t.Data)+size]
		}
	}
	if err := t.Validate(); err != nil {
		return t, err
	}
	return t, nil
}

// repeated calls add for each element of a repeated scalar field, packed
// (BytesType) or not.
func repeated(typ protowire.Type, v []byte, x uint64, elem protowire.Type, add func(uint64)) error {
	if typ != protowire.BytesType {
		add(x)
		return nil
	}
	for len(v) > 0 {
		var u uint64
		var n int
		switch elem {
		case protowire.VarintType:
			u, n = protowire.ConsumeVarint(v)
		case protowire.Fixed32Type:
			var w uint32
			w, n = protowire.ConsumeFixed32(v)
			u = uint64(w)
		default:
			u, n = protowire.ConsumeFixed64(v)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		add(u)
		v = v[n:]
	}
	return nil
}

// readDataSet reads the input_<i>.pb or output_<i>.pb files (prefix "input"
// or "output") of one data set, in index order.
func readDataSet(dir, prefix string) ([]tensor.Tensor, error) {
	var out []tensor.Tensor
	for i := 0; ; i++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s_%d.pb", prefix, i)))
		if os.IsNotExist(err) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		t, err := readTensorProto(b)
		if err != nil {
			return nil, fmt.Errorf("%s_%d.pb: %w", prefix, i, err)
		}
		out = append(out, t)
	}
}
