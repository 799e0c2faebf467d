package inference

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Header holds the ModelProto fields ONNX Runtime does not report.
type Header struct {
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	// Opsets maps an operator-set domain ("" is the default ai.onnx) to its
	// version.
	Opsets map[string]int64
}

// Field numbers of onnx.ModelProto and onnx.OperatorSetIdProto.
const (
	fieldIRVersion       = 1
	fieldProducerName    = 2
	fieldProducerVersion = 3
	fieldGraph           = 7
	fieldOpsetImport     = 8
)

// ParseHeader reads the top-level fields of an ONNX ModelProto. It walks the
// whole message, so a truncated file fails here with a clear reason before
// the runtime is asked to load it.
func ParseHeader(data []byte) (Header, error) {
	h := Header{Opsets: map[string]int64{}}
	if len(data) == 0 {
		return h, errors.New("empty file")
	}
	hasGraph := false
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return h, fmt.Errorf("not a protobuf message: %w", protowire.ParseError(n))
		}
		data = data[n:]
		var val []byte
		var v uint64
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(data)
		case protowire.BytesType:
			val, n = protowire.ConsumeBytes(data)
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return h, fmt.Errorf("field %d: %w (truncated file?)", num, protowire.ParseError(n))
		}
		data = data[n:]
		switch num {
		case fieldIRVersion:
			h.IRVersion = int64(v)
		case fieldProducerName:
			h.ProducerName = string(val)
		case fieldProducerVersion:
			h.ProducerVersion = string(val)
		case fieldGraph:
			hasGraph = true
		case fieldOpsetImport:
			domain, version, err := parseOpset(val)
			if err != nil {
				return h, err
			}
			h.Opsets[domain] = version
		}
	}
	if !hasGraph {
		return h, errors.New("model has no graph")
	}
	if h.IRVersion == 0 {
		return h, errors.New("model has no ir_version")
	}
	return h, nil
}

func parseOpset(b []byte) (string, int64, error) {
	var domain string
	var version int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", 0, fmt.Errorf("opset_import: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(b)
			domain = string(v)
		case num == 2 && typ == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			version = int64(v)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return "", 0, fmt.Errorf("opset_import: %w", protowire.ParseError(n))
		}
		b = b[n:]
	}
	return domain, version, nil
}
