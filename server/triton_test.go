package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// tritonConfig uses every ModelConfig section aisle has.
const tritonConfig = `max_batch_size: 8
version_policy: {latest: {num_versions: 1}}
dynamic_batching:
  preferred_batch_size: [4]
  max_queue_delay_microseconds: 100
  default_queue_policy: {max_queue_size: 16}
instance_group: [{count: 2, kind: KIND_CPU}]
parameters: {pooling: mean}   # read by the encoder pipeline only when a tokenizer is named: inert here
model_warmup:
  - {name: zeros, batch_size: 1, inputs: {x: {data_type: TYPE_FP32, dims: [4], zero_data: true}}}
`

func inferJSON(model, id string, values ...float32) string {
	return fmt.Sprintf(`{"model_name":%q,"id":%q,"inputs":[{"name":"x","datatype":"FP32","shape":[1,%d],"contents":{"fp32_contents":%s}}]}`,
		model, id, len(values), floats(values))
}

func floats(v []float32) string {
	s := "["
	for i, f := range v {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(f)
	}
	return s + "]"
}

// TestTritonClientEveryRPC drives each RPC of Triton's GRPCInferenceService,
// as Triton's own proto files define it, against a real aisle server: a
// Triton client finds every RPC it calls. The six shared-memory RPCs answer
// UNIMPLEMENTED with the reason.
func TestTritonClientEveryRPC(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", tritonConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	writeConfig(t, root, "mlp", "max_batch_size: 16\n")
	modelFile(t, root, "mlp", 1, "mlp.onnx")
	var level slog.LevelVar
	// LogSettings (and load/unload) are mutating: authorised with a token.
	auth, tok := tokenAuth(t)
	ts := startServerConfig(t, root, 0, Config{HealthInterval: 20 * time.Millisecond, LogLevel: &level, LogFormat: "text", Auth: auth},
		func(Repository) []Service { return nil })
	c := newTritonClient(t, ts.conn)
	ctx := withToken(testCtx(t), tok)

	sharedMemory := func(req string) func(t *testing.T) {
		return func(t *testing.T) {
			for _, name := range []string{"System", "Cuda"} {
				_, err := c.call(ctx, t, name+req, "{}")
				wantStatus(t, err, codes.Unimplemented, "aisle serves remote clients only")
			}
		}
	}
	rpcs := map[string]func(t *testing.T){
		"ServerLive": func(t *testing.T) {
			wantJSON(t, c.mustCall(ctx, t, "ServerLive", "{}"), "true", "live")
		},
		"ServerReady": func(t *testing.T) {
			wantJSON(t, c.mustCall(ctx, t, "ServerReady", "{}"), "true", "ready")
		},
		"ModelReady": func(t *testing.T) {
			wantJSON(t, c.mustCall(ctx, t, "ModelReady", `{"name":"ident"}`), "true", "ready")
		},
		"ServerMetadata": func(t *testing.T) {
			meta := c.mustCall(ctx, t, "ServerMetadata", "{}")
			wantJSON(t, meta, "aisle", "name")
			wantJSON(t, meta, "[model_repository model_configuration schedule_policy statistics parameters logging]", "extensions")
		},
		"ModelMetadata": func(t *testing.T) {
			meta := c.mustCall(ctx, t, "ModelMetadata", `{"name":"ident"}`)
			wantJSON(t, meta, "onnxruntime_onnx", "platform")
			wantJSON(t, meta, "[-1 4]", "inputs", "0", "shape")
		},
		"ModelInfer": func(t *testing.T) {
			resp := c.mustCall(ctx, t, "ModelInfer", inferJSON("ident", "req-1", 1, 2, 3, 4))
			wantJSON(t, resp, "req-1", "id")
			wantJSON(t, resp, "[1 2 3 4]", "outputs", "0", "contents", "fp32_contents")
		},
		"ModelStreamInfer": func(t *testing.T) { testTritonStream(ctx, t, c) },
		"ModelConfig": func(t *testing.T) {
			cfg := get(c.mustCall(ctx, t, "ModelConfig", `{"name":"ident"}`), "config")
			for path, want := range map[string]string{
				"name": "ident", "platform": "onnxruntime_onnx", "backend": "onnxruntime", "max_batch_size": "8",
				"default_model_filename":                               "model.onnx",
				"version_policy.latest.num_versions":                   "1",
				"input.0.name":                                         "x",
				"input.0.data_type":                                    "TYPE_FP32",
				"input.0.dims":                                         "[4]",
				"output.0.name":                                        "y",
				"output.0.data_type":                                   "TYPE_FP32",
				"dynamic_batching.preferred_batch_size":                "[4]",
				"dynamic_batching.max_queue_delay_microseconds":        "100",
				"dynamic_batching.default_queue_policy.max_queue_size": "16",
				"instance_group.0.count":                               "2",
				"instance_group.0.kind":                                "KIND_CPU",
				"parameters.pooling.string_value":                      "mean",
				"model_warmup.0.name":                                  "zeros",
				"model_warmup.0.batch_size":                            "1",
				"model_warmup.0.inputs.x.data_type":                    "TYPE_FP32",
				"model_warmup.0.inputs.x.zero_data":                    "true",
			} {
				wantJSON(t, cfg, want, splitPath(path)...)
			}
			_, err := c.call(ctx, t, "ModelConfig", `{"name":"nope"}`)
			wantStatus(t, err, codes.NotFound, "nope")
		},
		"ModelStatistics": func(t *testing.T) {
			c.mustCall(ctx, t, "ModelInfer", inferJSON("ident", "s", 1, 2, 3, 4))
			st := get(c.mustCall(ctx, t, "ModelStatistics", `{"name":"ident"}`), "model_stats", "0")
			wantJSON(t, st, "ident", "name")
			wantJSON(t, st, "CPU", "memory_usage", "0", "type")
			if n := fmt.Sprint(get(st, "memory_usage", "0", "byte_size")); n == "<nil>" || n == "0" {
				t.Errorf("memory_usage byte_size = %s", n)
			}
			if n := fmt.Sprint(get(st, "response_stats", "0", "success", "count")); n == "<nil>" || n == "0" {
				t.Errorf("response_stats[0].success.count = %s", n)
			}
		},
		"RepositoryIndex": func(t *testing.T) {
			idx := c.mustCall(ctx, t, "RepositoryIndex", `{"ready":true}`)
			wantJSON(t, idx, "ident", "models", "0", "name")
			wantJSON(t, idx, "READY", "models", "0", "state")
		},
		"RepositoryModelLoad": func(t *testing.T) {
			c.mustCall(ctx, t, "RepositoryModelLoad", `{"model_name":"mlp"}`)
		},
		"RepositoryModelUnload": func(t *testing.T) {
			c.mustCall(ctx, t, "RepositoryModelUnload", `{"model_name":"mlp"}`)
			if models, _ := get(c.mustCall(ctx, t, "RepositoryIndex", `{"ready":true}`), "models").([]any); len(models) != 1 {
				t.Errorf("ready models after unloading mlp: %v", models)
			}
		},
		"SystemSharedMemoryStatus":     sharedMemory("SharedMemoryStatus"),
		"SystemSharedMemoryRegister":   sharedMemory("SharedMemoryRegister"),
		"SystemSharedMemoryUnregister": sharedMemory("SharedMemoryUnregister"),
		"CudaSharedMemoryStatus":       sharedMemory("SharedMemoryStatus"),
		"CudaSharedMemoryRegister":     sharedMemory("SharedMemoryRegister"),
		"CudaSharedMemoryUnregister":   sharedMemory("SharedMemoryUnregister"),
		"TraceSetting":                 func(t *testing.T) { testTritonTrace(ctx, t, c) },
		"LogSettings":                  func(t *testing.T) { testTritonLog(ctx, t, c, &level) },
	}
	seen := map[string]bool{}
	for i := range c.svc.Methods().Len() {
		name := string(c.svc.Methods().Get(i).Name())
		seen[name] = true
		run, ok := rpcs[name]
		if !ok {
			t.Errorf("Triton RPC %s has no case here", name)
			continue
		}
		t.Run(name, run)
	}
	for name := range rpcs {
		if !seen[name] {
			t.Errorf("case %s is not a Triton RPC", name)
		}
	}
}

// splitPath splits "a.0.b" into keys.
func splitPath(p string) []string {
	var out []string
	start := 0
	for i := range len(p) {
		if p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

// testTritonStream sends good and bad requests on one stream and reads the
// answers: in order, each with its id, the bad ones as error_message
// without ending the stream.
func testTritonStream(ctx context.Context, t *testing.T, c *tritonClient) {
	s, m := c.stream(ctx, t, "ModelStreamInfer")
	requests := []string{
		inferJSON("ident", "a", 1, 2, 3, 4),
		inferJSON("nope", "b", 1, 2, 3, 4),
		inferJSON("ident", "c", 1, 2, 3),
		strings.Replace(inferJSON("ident", "d", 5, 6, 7, 8), `"inputs"`,
			`"parameters":{"triton_enable_empty_final_response":{"bool_param":true}},"inputs"`, 1),
	}
	for _, r := range requests {
		if err := s.SendMsg(c.message(t, m.Input(), r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, err, out string }{
		{"a", "", "[1 2 3 4]"},
		{"b", "nope", ""},
		{"c", `input "x" has shape [1 3]`, ""},
		{"d", "", "[5 6 7 8]"},
	}
	for _, w := range want {
		resp, err := c.recvStream(t, s, m)
		if err != nil {
			t.Fatalf("response %s: %v", w.id, err)
		}
		wantJSON(t, resp, w.id, "infer_response", "id")
		msg, _ := get(resp, "error_message").(string)
		if (w.err == "") != (msg == "") || !strings.Contains(msg, w.err) {
			t.Errorf("response %s: error_message %q, want one naming %q", w.id, msg, w.err)
		}
		if w.out != "" {
			wantJSON(t, resp, w.out, "infer_response", "outputs", "0", "contents", "fp32_contents")
		}
		final := "<nil>"
		if w.id == "d" {
			final = "true"
		}
		wantJSON(t, resp, final, "infer_response", "parameters", "triton_final_response", "bool_param")
	}
	if _, err := c.recvStream(t, s, m); !errors.Is(err, errStreamEnd) {
		t.Fatalf("after the last answer: %v, want the stream's end", err)
	}
}

func testTritonTrace(ctx context.Context, t *testing.T, c *tritonClient) {
	got := c.mustCall(ctx, t, "TraceSetting", "{}")
	wantJSON(t, got, "[OFF]", "settings", "trace_level", "value")
	got = c.mustCall(ctx, t, "TraceSetting", `{"settings":{"trace_rate":{"value":["50"]}}}`)
	wantJSON(t, got, "[50]", "settings", "trace_rate", "value")
	got = c.mustCall(ctx, t, "TraceSetting", `{"model_name":"ident","settings":{"trace_count":{"value":["5"]}}}`)
	wantJSON(t, got, "[5]", "settings", "trace_count", "value")
	wantJSON(t, got, "[50]", "settings", "trace_rate", "value")
	got = c.mustCall(ctx, t, "TraceSetting", "{}")
	wantJSON(t, got, "[-1]", "settings", "trace_count", "value")
	got = c.mustCall(ctx, t, "TraceSetting", `{"settings":{"trace_rate":{}}}`)
	wantJSON(t, got, "[1000]", "settings", "trace_rate", "value")

	_, err := c.call(ctx, t, "TraceSetting", `{"settings":{"trace_level":{"value":["TIMESTAMPS"]}}}`)
	wantStatus(t, err, codes.Unimplemented, "records no traces")
	_, err = c.call(ctx, t, "TraceSetting", `{"settings":{"trace_file":{"value":["/tmp/t"]}}}`)
	wantStatus(t, err, codes.InvalidArgument, "trace_file")
	_, err = c.call(ctx, t, "TraceSetting", `{"settings":{"colour":{"value":["red"]}}}`)
	wantStatus(t, err, codes.InvalidArgument, "colour")
	_, err = c.call(ctx, t, "TraceSetting", `{"settings":{"trace_rate":{"value":["fast"]}}}`)
	wantStatus(t, err, codes.InvalidArgument, "trace_rate")
	_, err = c.call(ctx, t, "TraceSetting", `{"model_name":"nope","settings":{"trace_rate":{"value":["1"]}}}`)
	wantStatus(t, err, codes.NotFound, "nope")
}

func testTritonLog(ctx context.Context, t *testing.T, c *tritonClient, level *slog.LevelVar) {
	got := c.mustCall(ctx, t, "LogSettings", "{}")
	for key, want := range map[string]string{
		"log_info.bool_param": "true", "log_warning.bool_param": "true", "log_error.bool_param": "true",
		"log_verbose_level.uint32_param": "0", "log_file.string_param": "", "log_format.string_param": "text",
	} {
		wantJSON(t, got, want, append([]string{"settings"}, splitPath(key)...)...)
	}
	steps := []struct {
		set   string
		level slog.Level
		check map[string]string
	}{
		{`{"log_verbose_level":{"uint32_param":1}}`, slog.LevelDebug, map[string]string{"log_verbose_level": "1", "log_info": "true"}},
		{`{"log_warning":{"bool_param":false}}`, slog.LevelError, map[string]string{"log_verbose_level": "0", "log_info": "false", "log_error": "true"}},
		{`{"log_error":{"bool_param":false}}`, levelOff, map[string]string{"log_error": "false"}},
		{`{"log_info":{"bool_param":true}}`, slog.LevelInfo, map[string]string{"log_info": "true", "log_warning": "true", "log_verbose_level": "0"}},
	}
	for _, step := range steps {
		got := c.mustCall(ctx, t, "LogSettings", `{"settings":`+step.set+`}`)
		if level.Level() != step.level {
			t.Errorf("after %s the level is %v, want %v", step.set, level.Level(), step.level)
		}
		for key, want := range step.check {
			param := "bool_param"
			if key == "log_verbose_level" {
				param = "uint32_param"
			}
			wantJSON(t, got, want, "settings", key, param)
		}
	}
	for set, want := range map[string]string{
		`{"log_info":{"bool_param":true},"log_warning":{"bool_param":false}}`: "contradict",
		`{"log_file":{"string_param":"/tmp/aisle.log"}}`:                      "stderr",
		`{"log_format":{"string_param":"ISO8601"}}`:                           "log_format",
		`{"log_info":{"uint32_param":1}}`:                                     "bool",
		`{"log_colour":{"bool_param":true}}`:                                  "log_colour",
	} {
		_, err := c.call(ctx, t, "LogSettings", `{"settings":`+set+`}`)
		wantStatus(t, err, codes.InvalidArgument, want)
	}
	if level.Level() != slog.LevelInfo {
		t.Errorf("a refused update changed the level to %v", level.Level())
	}
}
