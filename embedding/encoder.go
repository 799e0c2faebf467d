package embedding

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
	"github.com/aisle-ai/aisle/tokenize"
)

// ExtensionName is the key under which an Encoder is attached to a version.
const ExtensionName = "text-encoder"

// MaxTexts bounds the texts in one call: each is a queued request, and a
// caller with more should page.
const MaxTexts = 1024

// Errors callers map to a status.
var (
	// ErrInvalidText reports input text that cannot be encoded.
	ErrInvalidText = errors.New("invalid text")
	// ErrNotEncoder reports a model without text-encoder parameters.
	ErrNotEncoder = errors.New("model is not a text encoder")
)

// Pooling reduces a sequence of token vectors to one vector.
type Pooling int

// Pooling modes.
const (
	PoolMean Pooling = iota // mean over positions whose attention mask is 1
	PoolCLS                 // the first token's vector
	PoolNone                // the output is already one vector per text
)

// Encoder is the text pipeline prepared for one model version.
type Encoder struct {
	tok       *tokenize.Tokenizer
	pooling   Pooling
	normalize bool
	output    int // index of the pooled output among the model's outputs
	inputs    []inputRole
	dim       int
}

// inputRole says which tokenizer field feeds each model input.
type inputRole int

const (
	roleIDs inputRole = iota
	roleMask
	roleTypes
)

// Extension prepares Encoders for versions whose config names a tokenizer.
type Extension struct{}

// Parameters implements repository.Extension: the keys New reads.
func (Extension) Parameters() []string {
	return []string{"tokenizer", "max_seq_len", "pooling", "normalize", "output"}
}

// Prepare implements repository.Extension.
func (Extension) Prepare(v *repository.Version) (repository.Pipeline, error) {
	p := v.Config.Parameters
	if p["tokenizer"] == "" {
		return nil, nil
	}
	e, err := New(v.Dir, v.Config)
	if err != nil {
		return nil, err
	}
	// A ModelInfer call may send its own token ids: one past the
	// vocabulary fails the embedding Gather inside the runtime, so the
	// repository refuses it before batching (INVALID_ARGUMENT).
	if err := v.Config.LimitInput("input_ids", 0, e.tok.VocabSize()-1); err != nil {
		return nil, err
	}
	return e, nil
}

// Close implements repository.Pipeline; an Encoder holds no resources.
func (e *Encoder) Close() error { return nil }

// New builds an Encoder from a model's resolved config; dir holds the
// tokenizer file.
func New(dir string, cfg *repository.Config) (*Encoder, error) {
	p := cfg.Parameters
	maxLen, err := intParam(p, "max_seq_len", 0)
	if err != nil {
		return nil, err
	}
	path, err := repository.InDir(dir, p["tokenizer"])
	if err != nil {
		return nil, fmt.Errorf("parameter tokenizer: %w", err)
	}
	tok, err := tokenize.Load(path, tokenize.Options{MaxSeqLen: maxLen})
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	e := &Encoder{tok: tok, normalize: p["normalize"] != "false"}
	if e.pooling, err = parsePooling(p["pooling"]); err != nil {
		return nil, err
	}
	if err := e.bindInputs(cfg.Inputs); err != nil {
		return nil, err
	}
	if err := e.bindOutput(cfg, p["output"]); err != nil {
		return nil, err
	}
	return e, nil
}

func parsePooling(s string) (Pooling, error) {
	switch s {
	case "", "mean":
		return PoolMean, nil
	case "cls":
		return PoolCLS, nil
	case "none":
		return PoolNone, nil
	}
	return 0, fmt.Errorf("parameter pooling %q: want mean, cls or none", s)
}

// bindInputs maps the Hugging Face input names to tokenizer fields.
func (e *Encoder) bindInputs(ins []repository.TensorConfig) error {
	for _, in := range ins {
		if in.DType() != tensor.Int64 && in.DType() != tensor.Int32 {
			return fmt.Errorf("input %s is %s; a text encoder takes INT64 or INT32 token tensors", in.Name, in.DType())
		}
		switch in.Name {
		case "input_ids":
			e.inputs = append(e.inputs, roleIDs)
		case "attention_mask":
			e.inputs = append(e.inputs, roleMask)
		case "token_type_ids":
			e.inputs = append(e.inputs, roleTypes)
		default:
			return fmt.Errorf("input %s: a text encoder takes input_ids, attention_mask and optionally token_type_ids", in.Name)
		}
	}
	if len(e.inputs) == 0 || e.inputs[0] != roleIDs && !hasRole(e.inputs, roleIDs) {
		return fmt.Errorf("text encoder needs an input_ids input")
	}
	return nil
}

func hasRole(rs []inputRole, r inputRole) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func (e *Encoder) bindOutput(cfg *repository.Config, name string) error {
	e.output = -1
	for i, out := range cfg.Outputs {
		if name == "" || out.Name == name {
			e.output = i
			break
		}
	}
	if e.output < 0 {
		return fmt.Errorf("parameter output %q is not a model output", name)
	}
	out := cfg.Outputs[e.output]
	if out.DType() != tensor.FP32 {
		return fmt.Errorf("output %s is %s; pooling needs FP32", out.Name, out.DType())
	}
	if len(out.Dims) > 0 {
		e.dim = int(out.Dims[len(out.Dims)-1])
	}
	return nil
}

func intParam(p map[string]string, key string, def int) (int, error) {
	s, ok := p[key]
	if !ok || s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("parameter %s %q must be a non-negative integer", key, s)
	}
	return n, nil
}

// Dim returns the embedding dimension when the config fixes it, else 0.
func (e *Encoder) Dim() int { return max(e.dim, 0) }

// Tokenizer returns the encoder's tokenizer.
func (e *Encoder) Tokenizer() *tokenize.Tokenizer { return e.tok }
