package inference

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv names the environment variable that points at libonnxruntime.
const LibraryEnv = "ONNXRUNTIME_LIB"

// DefaultLibraryPath is where scripts/setup-ort.sh installs the runtime,
// relative to the repository root.
const DefaultLibraryPath = "third_party/onnxruntime/libonnxruntime.so.1"

// SetupCommand is the command that installs the runtime library.
const SetupCommand = "scripts/setup-ort.sh"

// ErrNoRuntime reports that the ONNX Runtime shared library was not found.
var ErrNoRuntime = errors.New("onnxruntime library not found")

// envMu guards the process-wide ORT environment, the one global aisle keeps:
// the C library allows a single environment per process.
var envMu sync.Mutex

// LibraryPath resolves the runtime library: the flag value when set, then
// $ONNXRUNTIME_LIB, then DefaultLibraryPath in the working directory or the
// nearest parent that has it, so the binary and the tests of every package
// find the library set-up installed at the repository root.
func LibraryPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if p := os.Getenv(LibraryEnv); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		return DefaultLibraryPath
	}
	for {
		p := filepath.Join(dir, DefaultLibraryPath)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return DefaultLibraryPath
		}
		dir = parent
	}
}

// Init loads the runtime library at path and creates the ORT environment.
// Calling it again after a successful Init is a no-op.
func Init(path string) error {
	envMu.Lock()
	defer envMu.Unlock()
	if ort.IsInitialized() {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%w at %s: run %s or set %s", ErrNoRuntime, path, SetupCommand, LibraryEnv)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", path, err)
	}
	ort.SetSharedLibraryPath(abs)
	// Fatal only: at the error level ONNX Runtime writes one unbounded raw
	// line to stderr for every failed run (9.6 MB from one server under bad
	// requests). Run returns the same error, and batching logs it
	// structured, cut short and rate limited.
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return fmt.Errorf("initialize onnxruntime from %s: %w", abs, err)
	}
	return nil
}

// Shutdown destroys the ORT environment. Every Session must be destroyed
// first.
func Shutdown() error {
	envMu.Lock()
	defer envMu.Unlock()
	if !ort.IsInitialized() {
		return nil
	}
	return ort.DestroyEnvironment()
}

// Version returns the loaded runtime's version string.
func Version() string { return ort.GetVersion() }

// Ready reports whether the runtime is initialised.
func Ready() bool {
	envMu.Lock()
	defer envMu.Unlock()
	return ort.IsInitialized()
}
