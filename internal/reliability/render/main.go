// Command render turns reliability records (JSON lines, see package
// reliability) into the markdown of RELIABILITY.md: a summary table with a
// row per test, then a table per test, after header.md (what the columns
// mean, the commands). When a test appears more than once (several runs
// appended to one file) its last record is kept.
//
//	go run ./internal/reliability/render -in build/reliability.jsonl -out RELIABILITY.md
package main

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aisle-ai/aisle/internal/reliability"
)

func main() {
	in := flag.String("in", "build/reliability.jsonl", "records, one JSON object a line")
	out := flag.String("out", "", "markdown output (default stdout)")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

// header is the text before the tables: what they show and how to
// regenerate them.
//
//go:embed header.md
var header string

func run(in, out string) error {
	recs, err := read(in)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("\n")
	render(&b, recs)
	if out == "" {
		_, err = io.WriteString(os.Stdout, b.String())
		return err
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

// read returns the records of path in first-seen order, the last record of
// each test winning.
func read(path string) ([]reliability.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var order []string
	last := map[string]reliability.Record{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r reliability.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		key := r.Package + "." + r.Test
		if _, ok := last[key]; !ok {
			order = append(order, key)
		}
		last[key] = r
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	recs := make([]reliability.Record, len(order))
	for i, k := range order {
		recs[i] = last[k]
	}
	return recs, nil
}

func render(b *strings.Builder, recs []reliability.Record) {
	b.WriteString("## Summary\n\n")
	b.WriteString("| Test | Package | Bad inputs | Calls | Failed | Data lost | Result |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---|\n")
	for _, r := range recs {
		fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %d | %s |\n", r.Test, r.Package, r.BadInputs, r.Calls, r.Failed, r.Lost, result(r))
	}
	for _, r := range recs {
		fmt.Fprintf(b, "\n### %s (%s)\n\n", r.Test, r.Package)
		b.WriteString("| | |\n|---|---|\n")
		rows := [][2]string{
			{"Load held", cell(r.Load)},
			{"Faults injected", cell(r.Faults)},
			{"Bad inputs tried", fmt.Sprint(r.BadInputs)},
			{"Good calls", fmt.Sprint(r.Calls)},
			{"Calls failed", fmt.Sprint(r.Failed)},
			{"Data lost", fmt.Sprint(r.Lost)},
			{"Result", result(r)},
			{"Recorded", r.Time},
		}
		for _, row := range rows {
			fmt.Fprintf(b, "| %s | %s |\n", row[0], row[1])
		}
	}
}

func result(r reliability.Record) string {
	s := "FAIL"
	if r.Passed {
		s = "pass"
	}
	if r.Short {
		s += " (-short)"
	}
	return s
}

// cell keeps a value on one table row.
func cell(s string) string {
	if s == "" {
		return "none"
	}
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
