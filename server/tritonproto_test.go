package server

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	pb "github.com/aisle-ai/aisle/proto/inference"
)

// tritonFiles returns Triton's grpc_service.proto and model_config.proto,
// compiled by protoc into testdata/triton/triton.binpb, in a registry of
// their own: they define the same full names as aisle's proto (package
// inference), which protobuf-go's global registry would refuse.
func tritonFiles(t testing.TB) *protoregistry.Files {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "triton", "triton.binpb"))
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func tritonService(t testing.TB, files *protoregistry.Files) protoreflect.ServiceDescriptor {
	t.Helper()
	d, err := files.FindDescriptorByName("inference.GRPCInferenceService")
	if err != nil {
		t.Fatal(err)
	}
	return d.(protoreflect.ServiceDescriptor)
}

// TestProtoMatchesTriton holds aisle's proto/inference against Triton's
// own files: every RPC with the same request and response types and
// streaming, every message (nested ones too) with the same fields (name,
// number, kind, cardinality, map, message or enum type, oneof) and no
// others, and every enum with the same values. A change on either side
// that a Triton client would notice fails here.
func TestProtoMatchesTriton(t *testing.T) {
	triton := tritonFiles(t)
	aisle := new(protoregistry.Files)
	for _, fd := range []protoreflect.FileDescriptor{pb.File_inference_grpc_service_proto, pb.File_inference_model_config_proto} {
		if err := aisle.RegisterFile(fd); err != nil {
			t.Fatal(err)
		}
	}

	want := tritonService(t, triton)
	got := pb.File_inference_grpc_service_proto.Services().ByName("GRPCInferenceService")
	if got.Methods().Len() != want.Methods().Len() {
		t.Errorf("aisle has %d RPCs, Triton %d", got.Methods().Len(), want.Methods().Len())
	}
	for i := range want.Methods().Len() {
		w := want.Methods().Get(i)
		g := got.Methods().ByName(w.Name())
		switch {
		case g == nil:
			t.Errorf("RPC %s missing", w.Name())
		case g.Input().FullName() != w.Input().FullName() || g.Output().FullName() != w.Output().FullName():
			t.Errorf("RPC %s: aisle %s -> %s, Triton %s -> %s", w.Name(), g.Input().FullName(), g.Output().FullName(),
				w.Input().FullName(), w.Output().FullName())
		case g.IsStreamingClient() != w.IsStreamingClient() || g.IsStreamingServer() != w.IsStreamingServer():
			t.Errorf("RPC %s: streaming differs", w.Name())
		}
	}

	messages, enums := 0, 0
	triton.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		walkMessages(f.Messages(), func(w protoreflect.MessageDescriptor) {
			messages++
			d, err := aisle.FindDescriptorByName(w.FullName())
			if err != nil {
				t.Errorf("message %s missing", w.FullName())
				return
			}
			compareFields(t, d.(protoreflect.MessageDescriptor), w)
		})
		walkEnums(f, func(w protoreflect.EnumDescriptor) {
			enums++
			d, err := aisle.FindDescriptorByName(w.FullName())
			if err != nil {
				t.Errorf("enum %s missing", w.FullName())
				return
			}
			compareEnums(t, d.(protoreflect.EnumDescriptor), w)
		})
		return true
	})
	if messages < 100 || enums < 5 {
		t.Fatalf("compared only %d messages and %d enums: is triton.binpb complete?", messages, enums)
	}
	t.Logf("compared %d RPCs, %d messages and %d enums with Triton's", want.Methods().Len(), messages, enums)
}

// walkMessages calls fn for every message, nested ones and map entries
// included.
func walkMessages(ms protoreflect.MessageDescriptors, fn func(protoreflect.MessageDescriptor)) {
	for i := range ms.Len() {
		fn(ms.Get(i))
		walkMessages(ms.Get(i).Messages(), fn)
	}
}

func walkEnums(f protoreflect.FileDescriptor, fn func(protoreflect.EnumDescriptor)) {
	for i := range f.Enums().Len() {
		fn(f.Enums().Get(i))
	}
	walkMessages(f.Messages(), func(m protoreflect.MessageDescriptor) {
		for i := range m.Enums().Len() {
			fn(m.Enums().Get(i))
		}
	})
}

func compareFields(t *testing.T, got, want protoreflect.MessageDescriptor) {
	t.Helper()
	if got.Fields().Len() != want.Fields().Len() {
		t.Errorf("%s: aisle has %d fields, Triton %d", want.FullName(), got.Fields().Len(), want.Fields().Len())
	}
	for i := range want.Fields().Len() {
		w := want.Fields().Get(i)
		g := got.Fields().ByNumber(w.Number())
		if g == nil {
			t.Errorf("%s: field %d (%s) missing", want.FullName(), w.Number(), w.Name())
			continue
		}
		if g, w := fieldSignature(g), fieldSignature(w); g != w {
			t.Errorf("%s field %d: aisle %+v, Triton %+v", want.FullName(), w.number, g, w)
		}
	}
}

// signature is what a field is on the wire and in generated code.
type signature struct {
	name        protoreflect.Name
	number      protoreflect.FieldNumber
	kind        protoreflect.Kind
	cardinality protoreflect.Cardinality
	isMap       bool
	typeName    protoreflect.FullName
	oneof       protoreflect.Name
}

func fieldSignature(f protoreflect.FieldDescriptor) signature {
	s := signature{name: f.Name(), number: f.Number(), kind: f.Kind(), cardinality: f.Cardinality(), isMap: f.IsMap()}
	if m := f.Message(); m != nil {
		s.typeName = m.FullName()
	}
	if e := f.Enum(); e != nil {
		s.typeName = e.FullName()
	}
	if o := f.ContainingOneof(); o != nil {
		s.oneof = o.Name()
	}
	return s
}

func compareEnums(t *testing.T, got, want protoreflect.EnumDescriptor) {
	t.Helper()
	if got.Values().Len() != want.Values().Len() {
		t.Errorf("%s: aisle has %d values, Triton %d", want.FullName(), got.Values().Len(), want.Values().Len())
	}
	for i := range want.Values().Len() {
		w := want.Values().Get(i)
		if g := got.Values().ByName(w.Name()); g == nil || g.Number() != w.Number() {
			t.Errorf("%s: value %s = %d missing or renumbered", want.FullName(), w.Name(), w.Number())
		}
	}
}

// TestModelConfigProtoIsTritons: aisle compiles Triton's model_config.proto
// unmodified; the copy beside Triton's grpc_service.proto in testdata is
// the same file.
func TestModelConfigProtoIsTritons(t *testing.T) {
	ours, err := os.ReadFile(filepath.Join("..", "proto", "inference", "model_config.proto"))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.ReadFile(filepath.Join("testdata", "triton", "model_config.proto"))
	if err != nil {
		t.Fatal(err)
	}
	if string(ours) != string(theirs) {
		t.Error("proto/inference/model_config.proto differs from Triton's (server/testdata/triton/model_config.proto)")
	}
}
