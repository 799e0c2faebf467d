package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/aisle-ai/aisle/inference"
)

func inspect(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("aisle models inspect", flag.ContinueOnError)
	asConfig := fs.Bool("config", false, "print a suggested config.yaml instead of the description")
	maxBatch := fs.Int("max-batch-size", 64, "max_batch_size to suggest with --config when dim 0 of every tensor is free")
	ortLib := fs.String("ort-lib", "", "path to libonnxruntime.so.1 (default $"+inference.LibraryEnv+", then "+inference.DefaultLibraryPath+")")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: aisle models inspect [flags] FILE.onnx")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("need exactly one ONNX file")
	}
	if err := inference.Init(inference.LibraryPath(*ortLib)); err != nil {
		return err
	}
	defer inference.Shutdown()
	m, err := inference.ReadModel(fs.Arg(0))
	if err != nil {
		return err
	}
	if *asConfig {
		writeConfig(w, m, *maxBatch)
		return nil
	}
	describe(w, m)
	return nil
}

func describe(w io.Writer, m *inference.Model) {
	fmt.Fprintf(w, "file:      %s (%d bytes)\n", m.Path, len(m.Data))
	fmt.Fprintf(w, "producer:  %s %s\n", m.Header.ProducerName, m.Header.ProducerVersion)
	fmt.Fprintf(w, "ir:        %d\n", m.Header.IRVersion)
	fmt.Fprintf(w, "opsets:    %s\n", opsetString(m.Header.Opsets))
	fmt.Fprintf(w, "graph:     %s\n", m.GraphName)
	if m.Domain != "" || m.Description != "" {
		fmt.Fprintf(w, "domain:    %s\ndescription: %s\n", m.Domain, m.Description)
	}
	fmt.Fprintf(w, "version:   %d\n", m.ModelVersion)
	fmt.Fprintln(w, "inputs:")
	for _, t := range m.Inputs {
		fmt.Fprintf(w, "  %-24s %-6s %v\n", t.Name, t.DType, t.Dims)
	}
	fmt.Fprintln(w, "outputs:")
	for _, t := range m.Outputs {
		fmt.Fprintf(w, "  %-24s %-6s %v\n", t.Name, t.DType, t.Dims)
	}
	if len(m.Metadata) > 0 {
		fmt.Fprintln(w, "metadata:")
		for _, k := range slices.Sorted(maps.Keys(m.Metadata)) {
			fmt.Fprintf(w, "  %s: %s\n", k, m.Metadata[k])
		}
	}
}

// writeConfig suggests a config.yaml: batching on when every tensor's dim 0
// is free, which is how exporters mark a batch axis.
func writeConfig(w io.Writer, m *inference.Model, maxBatch int) {
	batched := maxBatch > 0
	for _, t := range append(append([]inference.TensorInfo{}, m.Inputs...), m.Outputs...) {
		if len(t.Dims) == 0 || t.Dims[0] != -1 {
			batched = false
		}
	}
	mb := 0
	if batched {
		mb = maxBatch
	}
	fmt.Fprintf(w, "# suggested by: aisle models inspect --config %s\n", m.Path)
	fmt.Fprintf(w, "max_batch_size: %d\n", mb)
	writeTensors(w, "inputs", m.Inputs, batched, true)
	writeTensors(w, "outputs", m.Outputs, batched, false)
	if batched {
		fmt.Fprintln(w, "dynamic_batching:\n  max_queue_delay_microseconds: 500\n  default_queue_policy:\n    max_queue_size: 1024")
	}
	fmt.Fprintln(w, "instance_group:\n  - count: 1\n    kind: KIND_CPU")
	fmt.Fprintln(w, "version_policy:\n  latest:\n    num_versions: 1")
}

func writeTensors(w io.Writer, key string, ts []inference.TensorInfo, batched, input bool) {
	fmt.Fprintf(w, "%s:\n", key)
	for _, t := range ts {
		dims := t.Dims
		if batched {
			dims = dims[1:]
		}
		// A free dim right after the batch is a sequence: pad it when
		// batching requests of different lengths.
		ragged := batched && len(dims) > 0 && dims[0] == -1
		fmt.Fprintf(w, "  - name: %s\n    data_type: %s\n    dims: %s\n", t.Name, t.DType, dimList(dims))
		if ragged {
			fmt.Fprintln(w, "    ragged: true")
			if input {
				fmt.Fprintln(w, "    pad_value: 0")
			}
		}
	}
}

func dimList(d []int64) string {
	parts := make([]string, len(d))
	for i, v := range d {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func opsetString(ops map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		name := k
		if name == "" {
			name = "ai.onnx"
		}
		parts = append(parts, fmt.Sprintf("%s=%d", name, ops[k]))
	}
	return strings.Join(parts, " ")
}
