package repository

import (
	"errors"
	"strings"
	"testing"
)

type fakeExtension struct{ keys []string }

func (f fakeExtension) Parameters() []string             { return f.keys }
func (fakeExtension) Prepare(*Version) (Pipeline, error) { return nil, nil }

// TestCheckParameters: a parameter read by no registered extension refuses
// the version with a message naming it and the keys that are read.
func TestCheckParameters(t *testing.T) {
	m := &Manager{opts: Options{Extensions: map[string]Extension{
		"a": fakeExtension{[]string{"tokenizer", "pooling"}},
		"b": fakeExtension{[]string{"items"}},
	}}}
	for _, tc := range []struct {
		params  map[string]string
		wantErr string
	}{
		{nil, ""},
		{map[string]string{"pipeline": "x", "items": "items", "pooling": "mean"}, ""},
		{map[string]string{"items": "items", "embedding_dim": "64"},
			`parameter "embedding_dim" is read by no pipeline (parameters read: items, pooling, tokenizer)`},
	} {
		err := m.checkParameters(tc.params)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.params, err)
			}
			continue
		}
		if !errors.Is(err, ErrConfig) || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v: got %v, want %q", tc.params, err, tc.wantErr)
		}
	}
	none := &Manager{}
	if err := none.checkParameters(map[string]string{"x": "1"}); err == nil || !strings.Contains(err.Error(), "parameters read: none") {
		t.Errorf("no extensions: %v", err)
	}
}
