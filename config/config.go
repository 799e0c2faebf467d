package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

const (
	// EnvPrefix starts the environment variable of every flag.
	EnvPrefix = "AISLE_"
	// FileFlag is the flag (and AISLE_CONFIG variable) naming the
	// configuration file; Load registers it.
	FileFlag = "config"
)

// ErrUnknownKey is returned (wrapped, naming the key) for a configuration
// file key that names no flag.
var ErrUnknownKey = errors.New("unknown key")

// Error is a configuration value refused by a command's Validate; it names
// the key (the flag) and the problem.
type Error struct {
	Key     string
	Problem string
}

func (e *Error) Error() string {
	return fmt.Sprintf("config %s (--%s, %s): %s", e.Key, e.Key, EnvName(e.Key), e.Problem)
}

// Errorf returns an *Error for key with a formatted problem.
func Errorf(key, format string, args ...any) error {
	return &Error{Key: key, Problem: fmt.Sprintf(format, args...)}
}

// EnvName returns the environment variable of flag name: AISLE_ and the
// name in upper case with '-' and '.' as '_' (max-k: AISLE_MAX_K).
func EnvName(name string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))
}

// Load registers --config on fs (unless the command did), parses args, and
// then sets every flag args left unset from its environment variable
// (lookupEnv, os.LookupEnv in production) or else from the configuration
// file, so that flag > environment > file > default. The flags named in
// actions (such as --print-config) are taken from args only: they are not
// keys of the file and have no variable.
func Load(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool), actions ...string) error {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if fs.Lookup(FileFlag) == nil {
		fs.String(FileFlag, "", "YAML configuration file, one key per flag (flag > "+EnvPrefix+"<FLAG> environment > file > default); also "+EnvName(FileFlag))
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	fromFlags := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { fromFlags[f.Name] = true })
	notKeys := map[string]bool{FileFlag: true}
	for _, a := range actions {
		notKeys[a] = true
	}
	// The file's path follows the same precedence as any key.
	if !fromFlags[FileFlag] {
		if v, ok := lookupEnv(EnvName(FileFlag)); ok {
			if err := fs.Set(FileFlag, v); err != nil {
				return err
			}
		}
	}
	var pairs []pair
	if path := fs.Lookup(FileFlag).Value.String(); path != "" {
		var err error
		if pairs, err = readFile(fs, path, notKeys); err != nil {
			return err
		}
	}
	// The file first, then the environment over it; flags given on the
	// command line are left as parsed.
	for _, p := range pairs {
		if fromFlags[p.key] {
			continue
		}
		if err := fs.Set(p.key, p.value); err != nil {
			return fmt.Errorf("config file %s: line %d: key %q: %w", p.path, p.line, p.key, badValue(p.key, p.value, err))
		}
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if fromFlags[f.Name] || notKeys[f.Name] {
			return
		}
		if v, ok := lookupEnv(EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("environment %s: %w", EnvName(f.Name), badValue(f.Name, v, err)))
			}
		}
	})
	return errors.Join(errs...)
}

// badValue says which value key refused, unless the value is a secret.
func badValue(key, value string, err error) error {
	if IsSecret(key) {
		return fmt.Errorf("invalid value: %w", err)
	}
	return fmt.Errorf("invalid value %q: %w", value, err)
}

// pair is one key of a configuration file.
type pair struct {
	path, key, value string
	line             int
}

// readFile reads path as a flat YAML mapping of flag names to scalars.
func readFile(fs *flag.FlagSet, path string, notKeys map[string]bool) ([]pair, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = *doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s: line %d: want a mapping of flag names to values", path, doc.Line)
	}
	seen := map[string]bool{}
	var out []pair
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		key := k.Value
		switch {
		case fs.Lookup(key) == nil || notKeys[key]:
			return nil, fmt.Errorf("config file %s: line %d: key %q: %w (keys are the flags of the command)", path, k.Line, key, ErrUnknownKey)
		case seen[key]:
			return nil, fmt.Errorf("config file %s: line %d: key %q given twice", path, k.Line, key)
		case v.Kind != yaml.ScalarNode:
			return nil, fmt.Errorf("config file %s: line %d: key %q: want a single value", path, v.Line, key)
		}
		seen[key] = true
		val := v.Value
		if v.Tag == "!!null" {
			val = ""
		}
		out = append(out, pair{path: path, key: key, value: val, line: v.Line})
	}
	return out, nil
}
