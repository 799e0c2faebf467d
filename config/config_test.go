package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testConfig is a small command configuration of every flag type.
type testConfig struct {
	addr     string
	k        int
	n        int64
	rate     float64
	drain    time.Duration
	strict   bool
	password string
}

func (c *testConfig) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "grpc-addr", "127.0.0.1:8001", "listen address")
	fs.IntVar(&c.k, "max-k", 1000, "largest k")
	fs.Int64Var(&c.n, "max-elements", 1<<24, "most elements")
	fs.Float64Var(&c.rate, "sample-rate", 0.01, "access log sample rate")
	fs.DurationVar(&c.drain, "drain-timeout", 30*time.Second, "drain deadline")
	fs.BoolVar(&c.strict, "strict", true, "strict readiness")
	fs.StringVar(&c.password, "redis-password", "", "a secret")
}

func load(t *testing.T, args []string, env map[string]string) (*testConfig, *flag.FlagSet, error) {
	t.Helper()
	var c testConfig
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.addFlags(fs)
	fs.Bool("print", false, "an action")
	err := Load(fs, args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "print")
	return &c, fs, err
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "aisle.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrecedence sets max-k at every level in turn: each level overrides
// the ones below it and leaves other keys alone.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, "max-k: 30\nsample-rate: 0.5\n")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"default", nil, nil, 1000},
		{"file", []string{"--config", file}, nil, 30},
		{"file from AISLE_CONFIG", nil, map[string]string{"AISLE_CONFIG": file}, 30},
		{"env over file", []string{"--config", file}, map[string]string{"AISLE_MAX_K": "20"}, 20},
		{"flag over env and file", []string{"--config", file, "--max-k", "10"}, map[string]string{"AISLE_MAX_K": "20"}, 10},
		{"flag equal to default still wins", []string{"--config", file, "--max-k", "1000"}, map[string]string{"AISLE_MAX_K": "20"}, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := load(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.k != tc.want {
				t.Fatalf("max-k = %d, want %d", c.k, tc.want)
			}
			wantRate := 0.01
			if tc.name != "default" {
				wantRate = 0.5
			}
			if c.rate != wantRate || c.addr != "127.0.0.1:8001" {
				t.Fatalf("other keys changed: %+v", c)
			}
		})
	}
}

// TestBadValuesNameTheKey: a value that does not parse, wherever it comes
// from, is an error naming its key or variable.
func TestBadValuesNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		args       []string
		env        map[string]string
		want       []string
	}{
		{"flag", "", []string{"--max-k", "many"}, nil, []string{"max-k", "many"}},
		{"env", "", nil, map[string]string{"AISLE_DRAIN_TIMEOUT": "soon"}, []string{"AISLE_DRAIN_TIMEOUT", "soon"}},
		{"file value", "max-k: 1\ndrain-timeout: soon\n", nil, nil, []string{"line 2", `"drain-timeout"`, "soon"}},
		{"file bool", "strict: maybe\n", nil, nil, []string{"line 1", `"strict"`}},
		{"file nested", "grpc-addr:\n  host: x\n", nil, nil, []string{`"grpc-addr"`, "single value"}},
		{"file twice", "max-k: 1\nmax-k: 2\n", nil, nil, []string{"line 2", `"max-k"`, "twice"}},
		{"file not a mapping", "- max-k\n", nil, nil, []string{"mapping"}},
		{"file syntax", "max-k: [1\n", nil, nil, []string{"aisle.yaml"}},
		{"stray argument", "", []string{"serve"}, nil, []string{`"serve"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append(args, "--config", writeFile(t, tc.file))
			}
			_, _, err := load(t, args, tc.env)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestUnknownFileKeyRefused(t *testing.T) {
	for _, text := range []string{"max_k: 5\n", "max-k: 5\ngrpc-adress: x\n", "config: other.yaml\n", "print: true\n"} {
		_, _, err := load(t, []string{"--config", writeFile(t, text)}, nil)
		if !errors.Is(err, ErrUnknownKey) {
			t.Errorf("%q: err = %v, want ErrUnknownKey", text, err)
		}
	}
	// An unknown AISLE_ variable is not an error: it may be meant for
	// another version.
	if _, fs, err := load(t, nil, map[string]string{"AISLE_NO_SUCH_FLAG": "1", "AISLE_PRINT": "true"}); err != nil || fs.Lookup("print").Value.String() != "false" {
		t.Fatalf("err %v; an action set from the environment: %v", err, fs.Lookup("print").Value)
	}
}

func TestMissingFile(t *testing.T) {
	_, _, err := load(t, []string{"--config", filepath.Join(t.TempDir(), "none.yaml")}, nil)
	if err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Fatalf("err = %v, want it to name the file", err)
	}
}

// TestPrintRoundTrips: what Print writes, loaded as a file into a fresh
// configuration, gives the same configuration, and prints the same again.
func TestPrintRoundTrips(t *testing.T) {
	c, fs, err := load(t, []string{"--max-k", "7", "--grpc-addr", "", "--sample-rate", "0.25", "--strict=false"},
		map[string]string{"AISLE_DRAIN_TIMEOUT": "1m30s", "AISLE_MAX_ELEMENTS": "12"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Print(&out, fs, "print"); err != nil {
		t.Fatal(err)
	}
	c2, fs2, err := load(t, []string{"--config", writeFile(t, out.String())}, nil)
	if err != nil {
		t.Fatalf("printed configuration does not load: %v\n%s", err, out.String())
	}
	if *c2 != *c {
		t.Fatalf("round trip: %+v, want %+v\n%s", *c2, *c, out.String())
	}
	var again bytes.Buffer
	if err := Print(&again, fs2, "print"); err != nil {
		t.Fatal(err)
	}
	if again.String() != out.String() {
		t.Fatalf("second print differs:\n%s\nfirst:\n%s", again.String(), out.String())
	}
	for _, want := range []string{"# largest k\nmax-k: 7\n", `grpc-addr: ""`, "drain-timeout: 1m30s\n", "strict: false\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPrintRedactsSecrets(t *testing.T) {
	_, fs, err := load(t, nil, map[string]string{"AISLE_REDIS_PASSWORD": "hunter2"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Print(&out, fs); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "hunter2") || !strings.Contains(out.String(), "redis-password: "+Redacted) {
		t.Fatalf("secret not redacted:\n%s", out.String())
	}
	for name, want := range map[string]bool{"redis-password": true, "auth-token": true, "auth-token-file": false, "tls-key": false} {
		if IsSecret(name) != want {
			t.Errorf("IsSecret(%q) = %v", name, !want)
		}
	}
}

func TestErrorNamesKey(t *testing.T) {
	err := Errorf("drain-timeout", "must be positive, got %v", -time.Second)
	for _, want := range []string{"drain-timeout", "--drain-timeout", "AISLE_DRAIN_TIMEOUT", "must be positive, got -1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "drain-timeout" {
		t.Fatalf("errors.As: %v", err)
	}
	if EnvName("max-tensor-elements") != "AISLE_MAX_TENSOR_ELEMENTS" {
		t.Fatal(EnvName("max-tensor-elements"))
	}
}
