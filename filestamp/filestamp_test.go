package filestamp

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOf(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if st, err := Of(path); !errors.Is(err, os.ErrNotExist) || st != (Stamp{}) {
		t.Fatalf("missing file: %v, %v", st, err)
	}
	if _, err := Of(dir); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("directory: %v, want ErrNotRegular", err)
	}
	if err := os.WriteFile(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	first, err := Of(path)
	if err != nil || first.Size != 3 {
		t.Fatalf("file: %v, %v", first, err)
	}
	if again, _ := Of(path); again != first {
		t.Fatalf("unchanged file: %v then %v", first, again)
	}
	if err := os.WriteFile(path, []byte("two!"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Same second on a coarse clock: the size still tells the change.
	if changed, _ := Of(path); changed == first {
		t.Fatalf("rewritten file kept its stamp %v", first)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if touched, _ := Of(path); touched.ModTime.Equal(first.ModTime) {
		t.Fatalf("touched file kept its time %v", first.ModTime)
	}
}
