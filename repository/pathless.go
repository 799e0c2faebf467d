package repository

import (
	"path/filepath"
	"strings"
)

// Refusal reasons reach clients (UNAVAILABLE messages, RepositoryIndex
// reasons), and they wrap errors that name files by the path the server
// opened them at: the absolute layout of the server's disk is none of the
// client's business. pathless rewrites them relative to the repository
// root, the way an operator names files in config.yaml ("cart-gnn/1/model.onnx").

// pathlessError is err with the repository root cut from its message; it
// still unwraps to err for errors.Is.
type pathlessError struct {
	msg string
	err error
}

func (e *pathlessError) Error() string { return e.msg }
func (e *pathlessError) Unwrap() error { return e.err }

// pathless returns err with every mention of the repository root made
// relative to it; nil stays nil.
func (m *Manager) pathless(err error) error {
	if err == nil {
		return nil
	}
	return &pathlessError{msg: m.relative(err.Error()), err: err}
}

// relative cuts the repository root, as given and as an absolute path,
// from msg.
func (m *Manager) relative(msg string) string {
	roots := []string{filepath.Clean(m.opts.Root)}
	if abs, err := filepath.Abs(m.opts.Root); err == nil && abs != roots[0] {
		roots = append([]string{abs}, roots...) // the longer form first
	}
	for _, r := range roots {
		if r == "." || r == "/" {
			continue
		}
		msg = strings.ReplaceAll(msg, r+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, r, "the repository root")
	}
	return msg
}
