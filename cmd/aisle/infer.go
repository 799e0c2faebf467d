package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	pb "github.com/aisle-ai/aisle/proto/inference"
)

// jsonRequest is the KServe v2 REST body, the form users already write.
type jsonRequest struct {
	ModelName    string       `json:"model_name"`
	ModelVersion string       `json:"model_version"`
	ID           string       `json:"id"`
	Inputs       []jsonTensor `json:"inputs"`
	Outputs      []struct {
		Name string `json:"name"`
	} `json:"outputs"`
}

type jsonTensor struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
	Data     []any   `json:"data"`
}

func infer(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("aisle infer", flag.ContinueOnError)
	var client clientConfig
	client.addFlags(fs)
	file := fs.String("f", "-", "JSON request in the KServe v2 REST form ({model_name, inputs:[{name, datatype, shape, data}]}); - reads stdin")
	model := fs.String("model", "", "model name (overrides model_name in the JSON)")
	timeout := fs.Duration("timeout", 10*time.Second, "request deadline")
	if err := fs.Parse(args); err != nil {
		return err
	}
	req, err := readRequest(*file)
	if err != nil {
		return err
	}
	if *model != "" {
		req.ModelName = *model
	}
	pr, err := req.toProto()
	if err != nil {
		return err
	}
	conn, err := client.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	resp, err := pb.NewGRPCInferenceServiceClient(conn).ModelInfer(ctx, pr)
	if err != nil {
		return err
	}
	return writeResponse(w, resp)
}

func readRequest(path string) (*jsonRequest, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var req jsonRequest
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("parse request JSON: %w", err)
	}
	return &req, nil
}
