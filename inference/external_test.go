package inference

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/aisle-ai/aisle/tensor"
)

// extdataDir is where scripts/make_extdata_models.py writes its models.
var extdataDir = filepath.Join("..", "testdata", "extdata")

// copyModel copies testdata/extdata/<name> into a fresh folder and returns
// the path of its model.onnx.
func copyModel(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(filepath.Join(extdataDir, name))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(extdataDir, name, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dst, "model.onnx")
}

// TestExternalDataLegit loads a model whose weights sit in weights.bin
// beside it, from a folder that is not the working directory, and checks
// the answer uses those weights: y = x @ W + b.
func TestExternalDataLegit(t *testing.T) {
	for name, path := range map[string]string{
		"relative path": filepath.Join(extdataDir, "legit", "model.onnx"),
		"temp folder":   copyModel(t, "legit"),
	} {
		t.Run(name, func(t *testing.T) {
			m, err := ReadModel(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := m.NewSession(SessionOptions{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Destroy()
			x := []float32{1, 2, 3, 4, -1, 0, 0.5, 2}
			out, err := s.Run(context.Background(), []tensor.Tensor{tensor.FromSlice("x", []int64{2, 4}, x)})
			if err != nil {
				t.Fatal(err)
			}
			got := tensor.View[float32](out[0].Data)
			// W[i][j] = (3i+j+1)/8, b = [0.5, -1, 2] (see the generator).
			b := []float32{0.5, -1, 2}
			for r := range 2 {
				for j := range 3 {
					want := b[j]
					for i := range 4 {
						want += x[r*4+i] * float32(3*i+j+1) / 8
					}
					if got[r*3+j] != want {
						t.Fatalf("y[%d][%d] = %v, want %v (all %v)", r, j, got[r*3+j], want, got)
					}
				}
			}
		})
	}
}

// TestExternalDataRefused covers every way out of the model's folder: each
// model must fail to load with ErrExternalData and a reason naming the
// location, and never reach the runtime.
func TestExternalDataRefused(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.bin")
	if err := os.WriteFile(outside, make([]byte, 64), 0o600); err != nil {
		t.Fatal(err)
	}
	symlinked := copyModel(t, "legit")
	weights := filepath.Join(filepath.Dir(symlinked), "weights.bin")
	if err := os.Remove(weights); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, weights); err != nil {
		t.Fatal(err)
	}
	missing := copyModel(t, "legit")
	if err := os.Remove(filepath.Join(filepath.Dir(missing), "weights.bin")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, reason string
	}{
		{"dot-dot to /etc/passwd", copyModel(t, "escape"), "'..'"},
		{"dot-dot from the repository", filepath.Join(extdataDir, "escape", "model.onnx"), "'..'"},
		{"absolute /etc/passwd", copyModel(t, "absolute"), "absolute"},
		{"symlink out of the folder", symlinked, "symbolic link"},
		{"missing weights", missing, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ReadModel(tc.path)
			if err == nil {
				t.Fatalf("loaded %v; want refusal", m.Outputs)
			}
			if !errors.Is(err, ErrExternalData) {
				t.Fatalf("err = %v, want ErrExternalData", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err = %v, want it to say %q", err, tc.reason)
			}
			if strings.Contains(err.Error(), filepath.Dir(outside)) {
				t.Fatalf("err = %v leaks the resolved path", err)
			}
		})
	}
}

// TestExternalDataInsideLink accepts a symbolic link that stays inside the
// model's folder (a common layout for deduplicated weights).
func TestExternalDataInsideLink(t *testing.T) {
	path := copyModel(t, "legit")
	dir := filepath.Dir(path)
	if err := os.Mkdir(filepath.Join(dir, "blobs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "weights.bin"), filepath.Join(dir, "blobs", "w")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("blobs", "w"), filepath.Join(dir, "weights.bin")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadModel(path); err != nil {
		t.Fatal(err)
	}
}

// TestExternalDataFromBytes refuses external data for a model given as
// bytes: there is no folder to confine it to.
func TestExternalDataFromBytes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(extdataDir, "legit", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseModel("legit.onnx", data); !errors.Is(err, ErrExternalData) {
		t.Fatalf("err = %v, want ErrExternalData", err)
	}
}

// TestExternalDataRuntimeConfined bypasses the Go check to prove the second
// line holds: a session built from bytes resolves external data in the
// model's folder, where the runtime's own check refuses "..".
func TestExternalDataRuntimeConfined(t *testing.T) {
	path := copyModel(t, "escape")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{
		Path: path, Dir: filepath.Dir(path), Data: data, external: true,
		Inputs:  []TensorInfo{{Name: "x", DType: tensor.FP32, Dims: []int64{-1, 4}}},
		Outputs: []TensorInfo{{Name: "y", DType: tensor.Uint8, Dims: []int64{64}}, {Name: "x_out", DType: tensor.FP32, Dims: []int64{-1, 4}}},
	}
	s, err := m.NewSession(SessionOptions{IntraOpThreads: 1})
	if err == nil {
		s.Destroy()
		t.Fatal("the runtime loaded a model reading ../../etc/passwd")
	}
	if !strings.Contains(err.Error(), "escapes model directory") {
		t.Fatalf("err = %v, want the runtime's escape check", err)
	}
}

// extTensor is a TensorProto whose data lives in loc.
func extTensor(name, loc string) []byte {
	var b []byte
	b = protowire.AppendTag(b, fieldTensorName, protowire.BytesType)
	b = protowire.AppendString(b, name)
	var e []byte
	e = protowire.AppendTag(e, fieldEntryKey, protowire.BytesType)
	e = protowire.AppendString(e, "location")
	e = protowire.AppendTag(e, fieldEntryValue, protowire.BytesType)
	e = protowire.AppendString(e, loc)
	b = protowire.AppendTag(b, fieldExternalData, protowire.BytesType)
	b = protowire.AppendBytes(b, e)
	b = protowire.AppendTag(b, fieldDataLocation, protowire.VarintType)
	return protowire.AppendVarint(b, dataLocationExtern)
}

// protoMsg is body as field num of a message.
func protoMsg(num protowire.Number, body []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, body)
}

// TestExternalRefsNested finds an external tensor wherever ONNX allows one:
// here in a Constant node inside the then-branch of an If node, and in a
// sparse initializer.
func TestExternalRefsNested(t *testing.T) {
	tensorMsg, msg := extTensor, protoMsg
	inner := msg(1, msg(5, msg(5, tensorMsg("const", "../a")))) // graph.node.attribute.t
	ifNode := msg(5, msg(6, inner))                             // node.attribute.g
	graph := append(msg(1, ifNode), msg(15, msg(1, tensorMsg("sparse", "/b")))...)
	model := msg(7, graph)
	g, err := parseGraph(model)
	if err != nil {
		t.Fatal(err)
	}
	refs := g.refs
	want := []externalRef{{"const", "../a"}, {"sparse", "/b"}}
	if len(refs) != len(want) || refs[0] != want[0] || refs[1] != want[1] {
		t.Fatalf("refs = %v, want %v", refs, want)
	}
	// A graph nested past the bound is refused rather than followed.
	deep := msg(5, tensorMsg("x", "w")) // a graph with one initializer
	for range maxProtoDepth {
		deep = msg(1, msg(5, msg(6, deep))) // graph.node.attribute.g
	}
	if _, err := parseGraph(msg(7, deep)); err == nil {
		t.Fatal("no error for a model nested past the bound")
	}
}

// TestExternalRefsEveryPlace puts one external tensor at each place the
// children table lists (every field of every message that can lead to a
// TensorProto, along every simple path from the ModelProto) and checks
// that the one pass over the model finds it: the graph reader interprets
// some of those messages itself and must still miss none.
func TestExternalRefsEveryPlace(t *testing.T) {
	// Every simple path (no kind twice) from the ModelProto to a tensor,
	// fields in sorted order so runs repeat: the graph reader interprets
	// some messages itself (graphs, nodes, attributes) and hands others to
	// walk, so a field must be tested in every reader that can meet it, not
	// by one shortest path (which reached attributes only through a
	// function's attribute defaults, walk's, and left readAttribute's arms
	// to map order).
	type step struct {
		num  protowire.Number
		kind protoKind
	}
	var paths [][]step
	var extend func(path []step, at protoKind, seen map[protoKind]bool)
	extend = func(path []step, at protoKind, seen map[protoKind]bool) {
		if at == kindTensor {
			paths = append(paths, slices.Clone(path))
			return
		}
		for _, num := range slices.Sorted(maps.Keys(children[at])) {
			child := children[at][num]
			if seen[child] {
				continue
			}
			seen[child] = true
			extend(append(path, step{num, child}), child, seen)
			delete(seen, child)
		}
	}
	extend(nil, kindModel, map[protoKind]bool{kindModel: true})
	edges := map[[2]int]bool{}
	for _, path := range paths {
		msg := extTensor("t", "../x")
		from := kindModel
		var name strings.Builder
		for i := len(path) - 1; i >= 0; i-- {
			msg = protoMsg(path[i].num, msg)
		}
		for _, st := range path {
			fmt.Fprintf(&name, "/%d:%d", from, st.num)
			edges[[2]int{int(from), int(st.num)}] = true
			from = st.kind
		}
		g, err := parseGraph(msg)
		if err != nil {
			t.Fatalf("path %s: %v", name.String(), err)
		}
		if want := (externalRef{"t", "../x"}); len(g.refs) != 1 || g.refs[0] != want {
			t.Errorf("path %s: refs %v, want [%v]", name.String(), g.refs, want)
		}
	}
	for k, fields := range children {
		for num := range fields {
			if !edges[[2]int{int(k), int(num)}] {
				t.Errorf("kind %d field %d is on no path from the model to a tensor", k, num)
			}
		}
	}
	t.Logf("%d paths", len(paths))
}

// TestExternalDataMemoryMarkerRefused: ONNX Runtime reads the location
// "*/_ORT_MEM_ADDR_/*" from a memory address, so it is refused even when an
// uploader made that path exist in the model's folder.
func TestExternalDataMemoryMarkerRefused(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join("*", ortMemAddr, "*")
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(marker)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, marker), make([]byte, 8), 0o600); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := FileInFolder(root, marker); err != nil {
		t.Fatalf("setup: the marker path should exist as a file: %v", err)
	}
	err = checkLocation(root, marker)
	if err == nil || !strings.Contains(err.Error(), "in-memory marker") {
		t.Fatalf("checkLocation(%q) = %v, want the in-memory marker refused", marker, err)
	}
}

// TestValueIntsCapped: a Constant's value_ints longer than maxConstElems is
// read as unknown, not decoded (1 byte in the file was 8 in memory, with no
// cap on this path), and a short one is kept.
func TestValueIntsCapped(t *testing.T) {
	constant := func(out string, n int) []byte {
		packed := make([]byte, n) // n varints of value 1
		for i := range packed {
			packed[i] = 1
		}
		attr := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("value_ints"))
		attr = protowire.AppendBytes(protowire.AppendTag(attr, 8, protowire.BytesType), packed)
		node := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte(out))
		node = protowire.AppendBytes(protowire.AppendTag(node, 4, protowire.BytesType), []byte("Constant"))
		return protoMsg(1, append(node, protoMsg(5, attr)...)) // graph.node
	}
	g, err := parseGraph(protoMsg(7, append(constant("big", maxConstElems+1), constant("small", 3)...)))
	if err != nil {
		t.Fatal(err)
	}
	if c := g.consts["big"]; c.ok || len(c.vals) != 0 {
		t.Errorf("value_ints of %d: ok %v with %d values, want unknown and none kept", maxConstElems+1, c.ok, len(c.vals))
	}
	if c := g.consts["small"]; !c.ok || len(c.vals) != 3 {
		t.Errorf("value_ints of 3: ok %v with %d values, want known, 3", c.ok, len(c.vals))
	}
}
