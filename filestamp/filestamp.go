// Package filestamp tells cheaply whether a file changed: its size and
// modification time, one stat, the stamp every poller in aisle compares
// (the model repository's scanner, the catalogue, the surfaces file, the
// auth token and TLS files). A stamp that differs from the one a file was
// read at means "reread"; one that changed since the previous poll means
// "still being written".
//
// It is its own package, not the repository's, because the catalogue
// polls too and must not depend on the model repository (and through it
// on ONNX Runtime).
package filestamp

import (
	"errors"
	"os"
	"time"
)

// Stamp identifies one version of a file's contents. The zero Stamp is no
// file. Stamps compare with ==.
type Stamp struct {
	Size    int64
	ModTime time.Time
}

// ErrNotRegular reports a path that names something other than a regular
// file (a directory, a device).
var ErrNotRegular = errors.New("not a regular file")

// Of stats path, following symbolic links, and returns the stamp of the
// regular file there, or the zero Stamp and the stat error (or
// ErrNotRegular).
func Of(path string) (Stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Stamp{}, err
	}
	if !fi.Mode().IsRegular() {
		return Stamp{}, ErrNotRegular
	}
	return Stamp{Size: fi.Size(), ModTime: fi.ModTime()}, nil
}
