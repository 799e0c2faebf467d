package inference

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/aisle-ai/aisle/tensor"
)

// ErrInvalidModel reports a file that is not a loadable ONNX model.
var ErrInvalidModel = errors.New("invalid onnx model")

// TensorInfo describes one model input or output. Dims use -1 for a
// dimension the graph leaves free.
type TensorInfo struct {
	Name  string
	DType tensor.DType
	Dims  []int64
}

// Model is an ONNX file read into memory and described, ready to create
// sessions from. Reading the bytes once lets every instance of a version
// share one read, and a file replaced on disk afterwards cannot change a
// model that is already loaded.
type Model struct {
	Path string
	// Dir is the folder external data resolves against: the folder the
	// model was read from, or empty for a model given as bytes (which then
	// may not use external data).
	Dir     string
	Data    []byte
	Inputs  []TensorInfo
	Outputs []TensorInfo
	Header  Header
	// Producer, GraphName, Domain, Description, ModelVersion and Metadata
	// come from the model's metadata as ONNX Runtime reports it.
	Producer     string
	GraphName    string
	Domain       string
	Description  string
	ModelVersion int64
	Metadata     map[string]string
	// Guards are the checks every request's inputs must pass before the
	// model runs: the operands of its integer divisions (divisor.go).
	Guards []InputGuard

	external bool // some tensor keeps its data in another file
}

// ReadModel reads and checks the ONNX file at path. External data (tensors
// kept in other files) must sit in path's folder: a location that is
// absolute, contains "..", or leads out of the folder through a symbolic
// link is refused with ErrExternalData before the runtime opens anything.
// The runtime must be initialised.
func ReadModel(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return parseModel(path, filepath.Dir(path), data)
}

// ParseModel checks ONNX bytes and describes their inputs and outputs; path
// is only used in messages. A model given as bytes has no folder, so one
// that uses external data is refused with ErrExternalData.
func ParseModel(path string, data []byte) (*Model, error) {
	return parseModel(path, "", data)
}

func parseModel(path, dir string, data []byte) (*Model, error) {
	hdr, err := ParseHeader(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, path, err)
	}
	// One pass over the model gathers its external-data locations and
	// what the division inspection needs.
	g, err := parseGraph(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, path, err)
	}
	if err := checkExternal(dir, g.refs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Before any runtime call: creating a session may constant-fold a
	// division by a constant zero, and trap (divisor.go).
	guards, err := inspectDivisions(g)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m := &Model{Path: path, Dir: dir, Data: data, Header: hdr, Guards: guards, external: len(g.refs) > 0}
	ins, outs, err := m.ioInfo()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, path, err)
	}
	if m.Inputs, err = convertInfo(ins); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, path, err)
	}
	if m.Outputs, err = convertInfo(outs); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, path, err)
	}
	if err := m.readMetadata(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, path, err)
	}
	return m, nil
}

func convertInfo(infos []ort.InputOutputInfo) ([]TensorInfo, error) {
	out := make([]TensorInfo, 0, len(infos))
	for _, in := range infos {
		if in.OrtValueType != ort.ONNXTypeTensor {
			return nil, fmt.Errorf("%s is a %s; only tensors are supported", in.Name, in.OrtValueType)
		}
		dt, ok := fromORT(in.DataType)
		if !ok {
			return nil, fmt.Errorf("%s has unsupported element type %s", in.Name, in.DataType)
		}
		out = append(out, TensorInfo{Name: in.Name, DType: dt, Dims: append([]int64(nil), in.Dimensions...)})
	}
	return out, nil
}

// ioInfo asks the runtime for the model's inputs and outputs. The
// byte-based probe has no options, so it would resolve external data against
// the working directory: a model with external data is probed from its file
// instead, where the runtime resolves (and itself confines) locations to the
// model's folder. checkExternal has already vetted every location.
func (m *Model) ioInfo() (ins, outs []ort.InputOutputInfo, err error) {
	if m.external {
		return ort.GetInputOutputInfoWithOptions(m.Path, nil)
	}
	return ort.GetInputOutputInfoWithONNXData(m.Data)
}

func (m *Model) metadata() (*ort.ModelMetadata, error) {
	if m.external {
		return ort.GetModelMetadataWithOptions(m.Path, nil)
	}
	return ort.GetModelMetadataWithONNXData(m.Data)
}

func (m *Model) readMetadata() error {
	md, err := m.metadata()
	if err != nil {
		return err
	}
	defer md.Destroy()
	m.Producer, _ = md.GetProducerName()
	m.GraphName, _ = md.GetGraphName()
	m.Domain, _ = md.GetDomain()
	m.Description, _ = md.GetDescription()
	m.ModelVersion, _ = md.GetVersion()
	keys, err := md.GetCustomMetadataMapKeys()
	if err != nil {
		return err
	}
	m.Metadata = make(map[string]string, len(keys))
	for _, k := range keys {
		if v, ok, _ := md.LookupCustomMetadataMap(k); ok {
			m.Metadata[k] = v
		}
	}
	return nil
}

// InputNames returns the model's input names in graph order.
func (m *Model) InputNames() []string { return names(m.Inputs) }

// OutputNames returns the model's output names in graph order.
func (m *Model) OutputNames() []string { return names(m.Outputs) }

func names(infos []TensorInfo) []string {
	out := make([]string, len(infos))
	for i, in := range infos {
		out[i] = in.Name
	}
	return out
}
