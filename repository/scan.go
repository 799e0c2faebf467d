package repository

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aisle-ai/aisle/filestamp"
)

// modelDir is what one scan sees of a model directory.
type modelDir struct {
	name     string
	path     string
	config   filestamp.Stamp
	hasConf  bool
	versions map[int64]filestamp.Stamp
}

// scanRoot lists the valid model directories under root. Hidden entries
// and names that could escape the root are skipped.
func scanRoot(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && ValidName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// scanModel stats a model's config and version files. modelFile is the
// file name inside each version directory.
func scanModel(root, name, modelFile string) modelDir {
	dir := filepath.Join(root, name)
	md := modelDir{name: name, path: dir, versions: map[int64]filestamp.Stamp{}}
	conf, err := filestamp.Of(filepath.Join(dir, ConfigFile))
	md.config, md.hasConf = conf, err == nil
	entries, err := os.ReadDir(dir)
	if err != nil {
		return md
	}
	for _, e := range entries {
		n, ok := parseVersion(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		if st, err := filestamp.Of(filepath.Join(dir, e.Name(), modelFile)); err == nil {
			md.versions[n] = st
		}
	}
	return md
}

// parseVersion accepts Triton's version directory names: positive decimal
// integers without a leading zero.
func parseVersion(s string) (int64, bool) {
	if s == "" || strings.HasPrefix(s, "0") {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}
