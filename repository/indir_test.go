package repository

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInDir confines the files a config names to the model's folder:
// symbolic links may point inside it, not out of it.
func TestInDir(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	write := func(path string) {
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "tokenizer.json"))
	write(filepath.Join(outside, "secret"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"inside.json": "tokenizer.json",
		"out.json":    filepath.Join(outside, "secret"),
		"up.json":     filepath.Join("..", filepath.Base(outside), "secret"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, ok := range []string{"tokenizer.json", "inside.json"} {
		if got, err := InDir(dir, ok); err != nil || got != filepath.Join(dir, ok) {
			t.Errorf("%s: %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"out.json", "up.json", "../" + filepath.Base(outside) + "/secret", filepath.Join(outside, "secret"), "", "sub"} {
		_, err := InDir(dir, bad)
		if err == nil {
			t.Errorf("%q: accepted", bad)
			continue
		}
		if bad != "sub" && !errors.Is(err, ErrOutsideRepository) {
			t.Errorf("%q: %v, want ErrOutsideRepository", bad, err)
		}
		// The message may quote what the config said, nothing resolved.
		if strings.Contains(err.Error(), dir) || (!filepath.IsAbs(bad) && strings.Contains(err.Error(), outside)) {
			t.Errorf("%q: error %q names server paths", bad, err)
		}
	}
	if _, err := InDir(dir, "missing.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v, want ErrNotExist", err)
	}
}
