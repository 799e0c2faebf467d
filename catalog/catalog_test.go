package catalog

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadTable(t *testing.T) {
	tab, err := ReadTable(write(t, "items.tsv", []byte("id\tname\tcount\n3\tWhole Milk\t10\n7\tsugar\t2\n")))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := tab.RowOfName(" whole milk "); !ok || r != 0 {
		t.Errorf("RowOfName = %d, %v", r, ok)
	}
	if r, ok := tab.RowOfID(7); !ok || r != 1 || tab.Items[r].Name != "sugar" {
		t.Errorf("RowOfID(7) = %d, %v", r, ok)
	}
	if _, ok := tab.RowOfID(4); ok {
		t.Error("unknown id found")
	}
	for name, body := range map[string]string{
		"header":    "name\tid\n1\tx\n",
		"columns":   "id\tname\n1\n",
		"bad id":    "id\tname\nx\tmilk\n",
		"negative":  "id\tname\n-1\tmilk\n",
		"duplicate": "id\tname\n1\ta\n1\tb\n",
	} {
		if _, err := ReadTable(write(t, "t.tsv", []byte(body))); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}

func TestReadMatrix(t *testing.T) {
	data := []byte("AISLEEMB")
	data = binary.LittleEndian.AppendUint32(data, 2)
	data = binary.LittleEndian.AppendUint32(data, 3)
	for i := range 6 {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(i)/2))
	}
	m, err := ReadMatrix(write(t, "m.f32", data))
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 2 || m.Dim != 3 || m.Row(1)[2] != 2.5 {
		t.Fatalf("matrix = %+v", m)
	}
	for name, bad := range map[string][]byte{"magic": append([]byte("NOTEMBED"), data[8:]...), "short": data[:len(data)-1], "empty": {}} {
		if _, err := ReadMatrix(write(t, "bad.f32", bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}
