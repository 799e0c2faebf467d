package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/config"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeTemp(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	must(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// TestServeConfigPrecedence: flag > AISLE_* environment > --config file >
// default, key by key, for keys of the serve, security and limit groups.
func TestServeConfigPrecedence(t *testing.T) {
	file := writeTemp(t, "aisle.yaml", "drain-timeout: 3s\nmax-k: 30\nauth-scoring: true\nmodels: /srv/models\n")
	env := envOf(map[string]string{"AISLE_CONFIG": file, "AISLE_MAX_K": "20", "AISLE_MODELS": "/env/models"})
	cfg, _, printOnly, err := loadServeConfig([]string{"--models", "/flag/models"}, env, io.Discard)
	must(t, err)
	switch {
	case printOnly:
		t.Error("print-config set")
	case cfg.models != "/flag/models":
		t.Errorf("models = %q, want the flag's", cfg.models)
	case cfg.limits.MaxK != 20:
		t.Errorf("max-k = %d, want the environment's 20", cfg.limits.MaxK)
	case cfg.drain != 3*time.Second || !cfg.security.authScoring:
		t.Errorf("drain %v, auth-scoring %v: want the file's 3s, true", cfg.drain, cfg.security.authScoring)
	case cfg.grpcAddr != DefaultGRPCAddr || cfg.poll != DefaultPoll || cfg.accessLogSample != DefaultAccessLogSample:
		t.Errorf("defaults not kept: %+v", cfg)
	}
}

// TestServeConfigBadValuesNameTheKey: every refused value names its key
// (flag and variable) and the problem, before anything starts.
func TestServeConfigBadValuesNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		key  string
		want string
	}{
		{[]string{"--drain-timeout", "0s"}, nil, "drain-timeout", "must be > 0"},
		{[]string{"--poll-interval", "-1s"}, nil, "poll-interval", "must be >= 0"},
		{[]string{"--grpc-addr", "8001"}, nil, "grpc-addr", "host:port"},
		{nil, map[string]string{"AISLE_HTTP_ADDR": "nohost"}, "http-addr", "host:port"},
		{[]string{"--models", ""}, nil, "models", "empty"},
		{[]string{"--pprof", "--http-addr", ""}, nil, "pprof", "needs --http-addr"},
		{[]string{"--graph-optimization", "fast"}, nil, "graph-optimization", `"fast"`},
		{[]string{"--execution-provider", "gpu"}, nil, "execution-provider", `"gpu"`},
		{[]string{"--intra-op-threads", "-2"}, nil, "intra-op-threads", "-2"},
		{[]string{"--max-recv-msg-size", "0"}, nil, "max-recv-msg-size", "must be > 0"},
		{[]string{"--log-level", "loud"}, nil, "log-level", "loud"},
		{[]string{"--access-log-sample-rate", "1.5"}, nil, "access-log-sample-rate", "between 0 and 1"},
		{[]string{"--access-log-sample-rate", "NaN"}, nil, "access-log-sample-rate", "between 0 and 1"},
		{[]string{"--max-texts", "100000"}, nil, "max-texts", "most the server supports"},
		{nil, map[string]string{"AISLE_MAX_K": "-1"}, "max-k", "must be >= 0"},
		{[]string{"--tls-cert", "c.pem"}, nil, "tls-key", "--tls-cert"},
		{[]string{"--tls-require-client-cert"}, nil, "tls-require-client-cert", "--tls-client-ca"},
		{[]string{"--auth-allowed-clients", "ci"}, nil, "auth-allowed-clients", "--tls-client-ca"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			_, _, _, err := loadServeConfig(tc.args, envOf(tc.env), io.Discard)
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Key != tc.key || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a config error for %s saying %q", err, tc.key, tc.want)
			}
		})
	}
	// Values that do not parse at all are refused by the loader, naming the
	// variable or file key.
	_, _, _, err := loadServeConfig(nil, envOf(map[string]string{"AISLE_DRAIN_TIMEOUT": "soon"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "AISLE_DRAIN_TIMEOUT") {
		t.Fatalf("unparsable env: %v", err)
	}
	_, _, _, err = loadServeConfig([]string{"--config", writeTemp(t, "c.yaml", "models: m\ngrpc_addr: x\n")}, envOf(nil), io.Discard)
	if !errors.Is(err, config.ErrUnknownKey) || !strings.Contains(err.Error(), `"grpc_addr"`) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("unknown file key: %v", err)
	}
}

// TestPrintConfigRoundTrips runs "aisle serve --print-config" (it exits
// before loading the runtime or binding a port), feeds the output back as
// --config, and gets the same configuration.
func TestPrintConfigRoundTrips(t *testing.T) {
	args := []string{"--models", "/m", "--grpc-addr", ":9001", "--http-addr", "", "--drain-timeout", "2m", "--max-k", "5",
		"--strict-readiness=false", "--access-log-sample-rate", "0.5", "--auth-allowed-clients", "a,b", "--tls-cert", "c", "--tls-key", "k", "--tls-client-ca", "ca"}
	env := envOf(map[string]string{"AISLE_LOG_JSON": "true", "AISLE_MAX_TENSOR_ELEMENTS": "99"})
	var out bytes.Buffer
	must(t, serveWith(context.Background(), append(args, "--print-config"), env, &out))
	want, _, _, err := loadServeConfig(args, env, io.Discard)
	must(t, err)
	got, _, _, err := loadServeConfig([]string{"--config", writeTemp(t, "printed.yaml", out.String())}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatalf("printed configuration does not load: %v\n%s", err, out.String())
	}
	if got != want {
		t.Fatalf("round trip:\n got %+v\nwant %+v\n%s", got, want, out.String())
	}
	for _, line := range []string{"drain-timeout: 2m0s\n", "max-k: 5\n", "log-json: true\n", `http-addr: ""`, "max-tensor-elements: 99\n"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q", line)
		}
	}
	if strings.Contains(out.String(), "print-config") {
		t.Error("the --print-config action is printed as a key")
	}
}

// TestServeKeysDocumented: every key of "aisle serve" has its row in
// docs/CONFIGURATION.md, with its environment variable and its default.
func TestServeKeysDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "CONFIGURATION.md"))
	must(t, err)
	_, fs, _, err := loadServeConfig(nil, envOf(nil), io.Discard)
	must(t, err)
	var buf bytes.Buffer
	must(t, config.Print(&buf, fs, printConfigFlag))
	for _, line := range strings.Split(buf.String(), "\n") {
		key, def, ok := strings.Cut(line, ": ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		row := fmt.Sprintf("| `%s` | `%s` | `%s` |", key, config.EnvName(key), def)
		if !bytes.Contains(doc, []byte(row)) {
			t.Errorf("docs/CONFIGURATION.md lacks the row of key %q: %s", key, row)
		}
	}
}
