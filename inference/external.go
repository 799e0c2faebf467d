package inference

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/aisle-ai/aisle/filestamp"
)

// ErrExternalData reports an external-data reference (a tensor whose bytes
// live in another file) that is refused: it leaves the model's folder, names
// something other than a regular file, or the model was not read from a
// folder at all.
var ErrExternalData = errors.New("external data refused")

// folderConfigKey tells ONNX Runtime where external data lives when a
// session is built from bytes. Without it the runtime resolves locations
// against the server's working directory, and skips its own "escapes model
// directory" check because it has no model directory to compare against.
const folderConfigKey = "session.model_external_initializers_file_folder_path"

// maxProtoDepth bounds the nesting the model reader follows (graphs inside
// attributes inside nodes inside graphs...). Real models nest a handful of
// levels; the bound keeps a hostile file from recursing without end.
const maxProtoDepth = 64

// protoKind names the ONNX messages that can hold a TensorProto, directly or
// further down.
type protoKind int

const (
	kindModel protoKind = iota
	kindGraph
	kindNode
	kindAttribute
	kindFunction
	kindTrainingInfo
	kindSparseTensor
	kindTensor
)

// children maps each message to the fields that lead to a TensorProto, by
// field number in onnx.proto3 (ONNX 1.16): every place a tensor can sit,
// so that no external reference is missed.
var children = map[protoKind]map[protowire.Number]protoKind{
	// ModelProto: graph, training_info, functions.
	kindModel: {7: kindGraph, 20: kindTrainingInfo, 25: kindFunction},
	// GraphProto: node, initializer, sparse_initializer.
	kindGraph: {1: kindNode, 5: kindTensor, 15: kindSparseTensor},
	// NodeProto: attribute.
	kindNode: {5: kindAttribute},
	// AttributeProto: t, g, tensors, graphs, sparse_tensor, sparse_tensors.
	kindAttribute: {5: kindTensor, 6: kindGraph, 10: kindTensor, 11: kindGraph, 22: kindSparseTensor, 23: kindSparseTensor},
	// FunctionProto: node, attribute_proto.
	kindFunction: {7: kindNode, 11: kindAttribute},
	// TrainingInfoProto: initialization, algorithm.
	kindTrainingInfo: {1: kindGraph, 2: kindGraph},
	// SparseTensorProto: values, indices.
	kindSparseTensor: {1: kindTensor, 2: kindTensor},
}

// Field numbers inside TensorProto and StringStringEntryProto.
const (
	fieldTensorDataType = 2
	fieldTensorName     = 8
	fieldExternalData   = 13
	fieldDataLocation   = 14
	fieldEntryKey       = 1
	fieldEntryValue     = 2
	dataLocationExtern  = 1
	externalLocationKey = "location"
)

// externalRef is one tensor's external-data location.
type externalRef struct {
	Tensor   string
	Location string
}

// The model is read once (parseGraph, graph.go), and that pass gathers
// every external-data location, in file order, into onnxGraph.refs. The
// graph reader reads each tensor with readTensor, and hands the messages
// it does not interpret itself but which can hold a tensor (training
// graphs, sparse tensors, a function's attribute defaults, an attribute's
// tensor list) to walk, which follows the children table down to every
// tensor in them.

// checkDepth refuses a message nested deeper than maxProtoDepth, counting
// every message from the ModelProto (depth 0) down. data nil is a field
// that held no message, which is not followed, so not counted.
func checkDepth(data []byte, depth int) error {
	if data != nil && depth > maxProtoDepth {
		return fmt.Errorf("messages nested deeper than %d", maxProtoDepth)
	}
	return nil
}

// walk appends to refs the external-data locations of every tensor under
// data, a message of the given kind at depth.
func walk(data []byte, kind protoKind, depth int, refs *[]externalRef) error {
	if err := checkDepth(data, depth); err != nil {
		return err
	}
	if kind == kindTensor {
		_, _, err := readTensor(data, refs)
		return err
	}
	next := children[kind]
	return eachTypedField(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if child, follow := next[num]; follow && typ == protowire.BytesType {
			return walk(v, child, depth+1, refs)
		}
		return nil
	})
}

// readTensor reads a TensorProto's name and element type, and appends its
// external-data locations to refs. A tensor counts as external when its
// data_location is EXTERNAL or when it carries a location entry at all:
// the reader errs on the side of checking too much.
func readTensor(data []byte, refs *[]externalRef) (name string, elem int32, err error) {
	var locations []string
	external := false
	err = eachTypedField(data, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == fieldTensorDataType:
			elem = int32(x) // whatever the wire type, as decodeTensor reads it
		case num == fieldTensorName && typ == protowire.BytesType:
			name = string(v)
		case num == fieldExternalData && typ == protowire.BytesType:
			key, value, err := parseEntry(v)
			if err != nil {
				return err
			}
			if key == externalLocationKey {
				locations = append(locations, value)
			}
		case num == fieldDataLocation && typ == protowire.VarintType:
			external = x == dataLocationExtern
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	if external && len(locations) == 0 {
		locations = append(locations, "")
	}
	for _, loc := range locations {
		*refs = append(*refs, externalRef{Tensor: name, Location: loc})
	}
	return name, elem, nil
}

func parseEntry(data []byte) (key, value string, err error) {
	err = eachTypedField(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == fieldEntryKey && typ == protowire.BytesType:
			key = string(v)
		case num == fieldEntryValue && typ == protowire.BytesType:
			value = string(v)
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return key, value, nil
}

// checkExternal confines every external-data location to dir, the folder
// the model was read from: a location must be a plain relative path with no
// ".." element, and must name a regular file that, symbolic links followed,
// is still inside dir. dir empty (a model parsed from bytes) refuses any
// external data, since there is no folder to resolve it against.
func checkExternal(dir string, refs []externalRef) error {
	if len(refs) == 0 {
		return nil
	}
	if dir == "" {
		return fmt.Errorf("%w: tensor %q keeps its data in %q, and a model given as bytes has no folder to read it from",
			ErrExternalData, refs[0].Tensor, refs[0].Location)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("%w: open model folder: %v", ErrExternalData, err)
	}
	defer root.Close()
	for _, r := range refs {
		if err := checkLocation(root, r.Location); err != nil {
			return fmt.Errorf("%w: tensor %q location %q: %s", ErrExternalData, r.Tensor, r.Location, err)
		}
	}
	return nil
}

// ortMemAddr is the location ONNX Runtime reads as "the data sits at the
// memory address in offset", not as a file (its library carries the
// marker; ONNX Runtime issue 28617: sparse tensors skipped its own check).
// A model folder whose uploader made the path exist would otherwise pass
// FileInFolder and have the runtime read the server's memory.
const ortMemAddr = "_ORT_MEM_ADDR_"

func checkLocation(root *os.Root, loc string) error {
	if loc == "" {
		return errors.New("external tensor without a location")
	}
	if strings.Contains(loc, ortMemAddr) {
		return errors.New("ONNX Runtime's in-memory marker is refused; the data must be a file in the model's folder")
	}
	return FileInFolder(root, loc)
}

// FileInFolder checks that rel is a plain relative path (not absolute, no
// ".." element) naming a regular file inside root, symbolic links followed
// only while they stay inside it: a file linked to one elsewhere fails. It
// is aisle's one confinement check of the files a model names: external
// data here, the model file and the files a model config names
// (repository.InDir). Its errors never hold root's path (os.Root's do, and
// they reach clients); a missing file matches os.ErrNotExist, something
// other than a regular file filestamp.ErrNotRegular.
func FileInFolder(root *os.Root, rel string) error {
	if rel == "" {
		return errors.New("empty path; the file must sit in the model's folder")
	}
	if filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, `\`) {
		return errors.New("absolute paths are refused; the file must sit in the model's folder")
	}
	if slices.Contains(strings.FieldsFunc(rel, isSeparator), "..") || !filepath.IsLocal(rel) {
		return errors.New("paths with '..' are refused; the file must sit in the model's folder")
	}
	fi, err := root.Stat(rel)
	if err != nil {
		return describeStatErr(err)
	}
	if !fi.Mode().IsRegular() {
		return filestamp.ErrNotRegular
	}
	return nil
}

func isSeparator(r rune) bool { return r == '/' || r == '\\' }

// describeStatErr words a stat failure without the absolute path os.Root
// puts in it, which would leak the server's layout to clients.
func describeStatErr(err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errNoFile
	case errors.Is(err, os.ErrPermission):
		return errors.New("permission denied")
	case strings.Contains(err.Error(), "escapes from parent") || strings.Contains(err.Error(), "path escapes"):
		return errors.New("a symbolic link leads out of the model's folder")
	}
	return errors.New("cannot be read")
}

// errNoFile is a missing file, as os.ErrNotExist, worded without a path.
var errNoFile error = notExist("no such file in the model's folder")

type notExist string

func (e notExist) Error() string { return string(e) }
func (e notExist) Unwrap() error { return os.ErrNotExist }
