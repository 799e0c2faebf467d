// Package servetest is the one test harness for "a model repository with
// these models, served on loopback": it copies models from the default
// repository (models/) or the ONNX test models (testdata/onnx) into a temp
// directory, loads them with single-threaded sessions, and serves them with
// whatever server the caller builds on a real loopback listener. Everything
// it starts is stopped at the test's cleanup, server before repository.
//
// It does not import the packages that use it (server, embedding, cart,
// recommend): callers pass their extensions and build their server, so the
// harness serves their internal tests too.
package servetest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/repository"
)

var (
	ortOnce sync.Once
	ortErr  error
)

// Runtime initialises ONNX Runtime once per test binary, or skips tb when
// the library cannot be loaded. A TestMain that owns the runtime (and shuts
// it down) need not call it.
func Runtime(tb testing.TB) {
	tb.Helper()
	ortOnce.Do(func() { ortErr = inference.Init(inference.LibraryPath("")) })
	if ortErr != nil {
		tb.Skipf("onnxruntime: %v", ortErr)
	}
}

// Root returns the repository's root directory (the one holding go.mod),
// found from the test's working directory.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("servetest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// CopyModel copies models/<name> of the default repository into
// root/<name>, or skips tb when its model file is absent; edit, when set,
// rewrites the copy's config.yaml.
func CopyModel(tb testing.TB, root, name string, edit func(string) string) {
	tb.Helper()
	src := filepath.Join(Root(tb), "models", name)
	if _, err := os.Stat(filepath.Join(src, "1", repository.DefaultModelFile)); err != nil {
		tb.Skipf("%s not found", src)
	}
	dst := filepath.Join(root, name)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		tb.Fatal(err)
	}
	if edit == nil {
		return
	}
	path := filepath.Join(dst, repository.ConfigFile)
	cfg, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	WriteFile(tb, path, []byte(edit(string(cfg))))
}

// WithoutParameters is a CopyModel edit that drops the named parameters,
// for a harness that registers fewer extensions than aisle serve.
func WithoutParameters(keys ...string) func(string) string {
	return func(cfg string) string {
		lines := strings.Split(cfg, "\n")
		out := lines[:0]
		for _, l := range lines {
			drop := false
			for _, k := range keys {
				drop = drop || strings.HasPrefix(strings.TrimSpace(l), k+":")
			}
			if !drop {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
}

// TestModel copies testdata/onnx/<src> into root/<name>/<version>/model.onnx.
func TestModel(tb testing.TB, root, name string, version int, src string) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(Root(tb), "testdata", "onnx", src))
	if err != nil {
		tb.Fatal(err)
	}
	WriteFile(tb, filepath.Join(root, name, strconvItoa(version), repository.DefaultModelFile), data)
}

// WriteFile writes path atomically (temp file, rename), creating its
// directory, so a polling repository never sees half a file.
func WriteFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// Options configure Repository.
type Options struct {
	// Extensions are the pipelines the repository prepares.
	Extensions map[string]repository.Extension
	// IntraOpThreads per session; 0 means 1.
	IntraOpThreads int
	// Poll > 0 starts the repository poller at that interval.
	Poll time.Duration
	// Runner wraps each session for the scheduler (repository.Options).
	Runner func(*inference.Session) batching.Runner
}

// Repo is a loaded repository under test.
type Repo struct {
	Dir     string
	Manager *repository.Manager
	Reg     *prometheus.Registry
	Log     *slog.Logger
}

// Repository loads the repository at dir (logs discarded, a fresh metrics
// registry) and closes it at cleanup.
func Repository(tb testing.TB, dir string, opts Options) *Repo {
	tb.Helper()
	Runtime(tb)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	m, err := repository.New(repository.Options{Root: dir,
		Session:      inference.SessionOptions{IntraOpThreads: max(opts.IntraOpThreads, 1), InterOpThreads: 1},
		DrainTimeout: 5 * time.Second, Logger: log, Registerer: reg, Extensions: opts.Extensions, Runner: opts.Runner})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	lctx, lcancel := context.WithTimeout(ctx, time.Minute)
	defer lcancel()
	if err := m.Load(lctx); err != nil {
		cancel()
		tb.Fatal(err)
	}
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		if opts.Poll > 0 {
			m.Poll(ctx, opts.Poll)
		}
	}()
	tb.Cleanup(func() {
		cancel()
		<-polled
		sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
		defer scancel()
		if err := m.Close(sctx); err != nil {
			tb.Errorf("close repository: %v", err)
		}
	})
	return &Repo{Dir: dir, Manager: m, Reg: reg, Log: log}
}

// Version returns the latest ready version of a model, released at cleanup.
func (r *Repo) Version(tb testing.TB, name string) *repository.Version {
	tb.Helper()
	v, err := r.Manager.Get(name, "")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Release)
	return v
}

func strconvItoa(v int) string {
	if v < 10 {
		return string(rune('0' + v))
	}
	return strconvItoa(v/10) + string(rune('0'+v%10))
}

// CopyDir copies the files under src to dst, each written atomically.
func CopyDir(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		WriteFile(tb, filepath.Join(dst, rel), data)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}
