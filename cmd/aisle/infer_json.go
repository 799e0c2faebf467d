package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

func (r *jsonRequest) toProto() (*pb.ModelInferRequest, error) {
	out := &pb.ModelInferRequest{ModelName: r.ModelName, ModelVersion: r.ModelVersion, Id: r.ID}
	for _, in := range r.Inputs {
		c, err := jsonContents(in)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
		out.Inputs = append(out.Inputs, &pb.ModelInferRequest_InferInputTensor{
			Name: in.Name, Datatype: in.Datatype, Shape: in.Shape, Contents: c,
		})
	}
	for _, o := range r.Outputs {
		out.Outputs = append(out.Outputs, &pb.ModelInferRequest_InferRequestedOutputTensor{Name: o.Name})
	}
	return out, nil
}

func jsonContents(t jsonTensor) (*pb.InferTensorContents, error) {
	dt, err := tensor.ParseDType(t.Datatype)
	if err != nil {
		return nil, err
	}
	c := &pb.InferTensorContents{}
	for i, v := range flatten(t.Data) {
		if err := appendValue(c, dt, v); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return c, nil
}

// flatten accepts nested arrays as KServe's REST form allows.
func flatten(vs []any) []any {
	var out []any
	for _, v := range vs {
		if inner, ok := v.([]any); ok {
			out = append(out, flatten(inner)...)
			continue
		}
		out = append(out, v)
	}
	return out
}

func appendValue(c *pb.InferTensorContents, dt tensor.DType, v any) error {
	if dt == tensor.Bytes {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %v", v)
		}
		c.BytesContents = append(c.BytesContents, []byte(s))
		return nil
	}
	if dt == tensor.Bool {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want true or false, got %v", v)
		}
		c.BoolContents = append(c.BoolContents, b)
		return nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return fmt.Errorf("want a number, got %v", v)
	}
	return appendNumber(c, dt, n.String())
}

func appendNumber(c *pb.InferTensorContents, dt tensor.DType, s string) error {
	switch dt {
	case tensor.FP32:
		f, err := strconv.ParseFloat(s, 32)
		c.Fp32Contents = append(c.Fp32Contents, float32(f))
		return err
	case tensor.FP64:
		f, err := strconv.ParseFloat(s, 64)
		c.Fp64Contents = append(c.Fp64Contents, f)
		return err
	case tensor.Int8, tensor.Int16, tensor.Int32:
		n, err := strconv.ParseInt(s, 10, 32)
		c.IntContents = append(c.IntContents, int32(n))
		return err
	case tensor.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		c.Int64Contents = append(c.Int64Contents, n)
		return err
	case tensor.Uint8, tensor.Uint16, tensor.Uint32:
		n, err := strconv.ParseUint(s, 10, 32)
		c.UintContents = append(c.UintContents, uint32(n))
		return err
	case tensor.Uint64:
		n, err := strconv.ParseUint(s, 10, 64)
		c.Uint64Contents = append(c.Uint64Contents, n)
		return err
	}
	return fmt.Errorf("%s cannot be written in JSON; use a KServe client with raw contents", dt)
}

func writeResponse(w io.Writer, resp *pb.ModelInferResponse) error {
	type outTensor struct {
		Name     string  `json:"name"`
		Datatype string  `json:"datatype"`
		Shape    []int64 `json:"shape"`
		Data     any     `json:"data"`
	}
	body := struct {
		ModelName    string      `json:"model_name"`
		ModelVersion string      `json:"model_version"`
		ID           string      `json:"id,omitempty"`
		Outputs      []outTensor `json:"outputs"`
	}{ModelName: resp.ModelName, ModelVersion: resp.ModelVersion, ID: resp.Id}
	for _, o := range resp.Outputs {
		body.Outputs = append(body.Outputs, outTensor{Name: o.Name, Datatype: o.Datatype, Shape: o.Shape, Data: contentsData(o.Contents)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(body)
}

func contentsData(c *pb.InferTensorContents) any {
	switch {
	case c == nil:
		return nil
	case len(c.Fp32Contents) > 0:
		return c.Fp32Contents
	case len(c.Fp64Contents) > 0:
		return c.Fp64Contents
	case len(c.Int64Contents) > 0:
		return c.Int64Contents
	case len(c.IntContents) > 0:
		return c.IntContents
	case len(c.Uint64Contents) > 0:
		return c.Uint64Contents
	case len(c.UintContents) > 0:
		return c.UintContents
	case len(c.BoolContents) > 0:
		return c.BoolContents
	case len(c.BytesContents) > 0:
		s := make([]string, len(c.BytesContents))
		for i, b := range c.BytesContents {
			s[i] = string(b)
		}
		return s
	}
	return []any{}
}
