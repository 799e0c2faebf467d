// Command ortprofile runs query-encoder ONNX files straight through ONNX
// Runtime (no tokenizer, no pooling, one session with one intra-op thread,
// graph optimization "all", as the server runs them) on batches of one
// fixed-length text, and prints each file's texts per CPU-second of this
// process, the files alternating within every batch size so that a shared
// machine's load hits them alike. With -profile it also prints where each
// file's time goes: ONNX Runtime's own per-operator kernel times, summed by
// operator type and divided by the runs (profiling adds its own cost: the
// shares are the figure, not the totals).
//
//	go run ./scripts/encoder/ortprofile -batches 1,16,64 -count 2 \
//	    models/query-encoder/1/model.onnx models/query-encoder/1/model.int8.onnx
//	go run ./scripts/encoder/ortprofile -profile -batches 64 models/query-encoder/1/model.int8.onnx
//
// BENCHMARKS.md §8 has its figures for the INT8 export (scripts/encoder/quantize.py).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

func main() {
	batches := flag.String("batches", "1,16,64", "comma-separated batch sizes")
	seq := flag.Int("seq", 5, "tokens per text, [CLS] and [SEP] included (\"organic whole milk\" is 5)")
	dur := flag.Duration("d", time.Second, "time per file and batch size")
	count := flag.Int("count", 2, "repeats of the whole sweep")
	profile := flag.Bool("profile", false, "print ONNX Runtime's per-operator times (files written under -profile-dir)")
	profileDir := flag.String("profile-dir", filepath.Join("build", "ortprofile"), "where -profile writes ONNX Runtime's JSON traces")
	lib := flag.String("lib", libPath(), "ONNX Runtime shared library")
	flag.Parse()
	if err := run(*lib, flag.Args(), *batches, *seq, *dur, *count, *profile, *profileDir); err != nil {
		fmt.Fprintln(os.Stderr, "ortprofile:", err)
		os.Exit(1)
	}
}

func libPath() string {
	if p := os.Getenv("ONNXRUNTIME_LIB"); p != "" {
		return p
	}
	return filepath.Join("third_party", "onnxruntime", "libonnxruntime.so.1")
}

func run(lib string, files []string, batchList string, seq int, dur time.Duration, count int, profile bool, profileDir string) error {
	if len(files) == 0 {
		return fmt.Errorf("no ONNX files given")
	}
	var batches []int
	for _, f := range strings.Split(batchList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("batch size %q: want a positive integer", f)
		}
		batches = append(batches, n)
	}
	if seq < 2 || seq > 32 {
		return fmt.Errorf("-seq %d: want 2..32 (the encoder's max_seq_len)", seq)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(); err != nil {
		return err
	}
	defer ort.DestroyEnvironment()
	if profile {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			return err
		}
	}
	sessions := make([]*ort.DynamicAdvancedSession, len(files))
	prefixes := make([]string, len(files))
	for i, f := range files {
		prefixes[i] = filepath.Join(profileDir, fmt.Sprintf("%d-%s", i, strings.TrimSuffix(filepath.Base(f), ".onnx")))
		s, err := open(f, profile, prefixes[i])
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		sessions[i] = s
	}
	for c := 0; c < count; c++ {
		for _, n := range batches {
			in, err := inputs(n, seq)
			if err != nil {
				return err
			}
			for i, s := range sessions {
				runs, cpu, err := measure(s, in, dur)
				if err != nil {
					return fmt.Errorf("%s: %w", files[i], err)
				}
				fmt.Printf("batch=%-3d %-48s %9.0f texts/cpu-s %8.1f µs/run (cpu)\n", n, files[i], float64(runs*n)/cpu.Seconds(), float64(cpu.Microseconds())/float64(runs))
			}
			for _, v := range in {
				v.Destroy()
			}
		}
	}
	for _, s := range sessions {
		s.Destroy() // writes the profile, PREFIX_<date>.json
	}
	for i := range files {
		if !profile {
			break
		}
		traces, _ := filepath.Glob(prefixes[i] + "_*.json")
		if len(traces) == 0 {
			return fmt.Errorf("%s: ONNX Runtime wrote no profile %s_*.json", files[i], prefixes[i])
		}
		sort.Strings(traces) // the newest (the date sorts) is this run's
		if err := printProfile(files[i], traces[len(traces)-1]); err != nil {
			return err
		}
	}
	return nil
}

func open(file string, profile bool, prefix string) (*ort.DynamicAdvancedSession, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	for _, err := range []error{so.SetIntraOpNumThreads(1), so.SetInterOpNumThreads(1), so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll)} {
		if err != nil {
			return nil, err
		}
	}
	if profile {
		if err := so.EnableProfiling(prefix); err != nil {
			return nil, err
		}
	}
	return ort.NewDynamicAdvancedSession(file, []string{"input_ids", "attention_mask", "token_type_ids"}, []string{"last_hidden_state"}, so)
}

// inputs is n copies of one text of seq tokens: [CLS], seq-2 word ids, [SEP].
func inputs(n, seq int) ([]ort.Value, error) {
	ids, mask, types := make([]int64, n*seq), make([]int64, n*seq), make([]int64, n*seq)
	for i := range ids {
		switch j := i % seq; {
		case j == 0:
			ids[i] = 101
		case j == seq-1:
			ids[i] = 102
		default:
			ids[i] = int64(1000 + 500*j)
		}
		mask[i] = 1
	}
	var out []ort.Value
	for _, d := range [][]int64{ids, mask, types} {
		t, err := ort.NewTensor(ort.NewShape(int64(n), int64(seq)), d)
		if err != nil {
			for _, v := range out {
				v.Destroy()
			}
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func measure(s *ort.DynamicAdvancedSession, in []ort.Value, dur time.Duration) (int, time.Duration, error) {
	runs, c0, w0 := 0, cpuTime(), time.Now()
	for time.Since(w0) < dur || runs == 0 {
		out := []ort.Value{nil}
		if err := s.Run(in, out); err != nil {
			return 0, 0, err
		}
		out[0].Destroy()
		runs++
	}
	return runs, cpuTime() - c0, nil
}

// cpuTime is this process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// printProfile sums ONNX Runtime's trace (Chrome trace JSON) by operator type.
func printProfile(file, trace string) error {
	data, err := os.ReadFile(trace)
	if err != nil {
		return err
	}
	var events []struct {
		Cat  string `json:"cat"`
		Name string `json:"name"`
		Dur  int64  `json:"dur"`
		Args struct {
			OpName string `json:"op_name"`
		} `json:"args"`
	}
	if err := json.Unmarshal(data, &events); err != nil {
		return fmt.Errorf("%s: %w", trace, err)
	}
	byOp, total, runs := map[string]int64{}, int64(0), 0
	for _, e := range events {
		switch {
		case e.Cat == "Node" && strings.HasSuffix(e.Name, "_kernel_time"):
			byOp[e.Args.OpName] += e.Dur
			total += e.Dur
		case e.Cat == "Session" && e.Name == "model_run":
			runs++
		}
	}
	if runs == 0 || total == 0 {
		return fmt.Errorf("%s: no runs in the trace", trace)
	}
	ops := make([]string, 0, len(byOp))
	for op := range byOp {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return byOp[ops[i]] > byOp[ops[j]] })
	fmt.Printf("\n%s: %d runs, kernels %.1f µs/run (%s)\n", file, runs, float64(total)/float64(runs), trace)
	for _, op := range ops {
		fmt.Printf("  %-26s %9.1f µs/run %5.1f%%\n", op, float64(byOp[op])/float64(runs), 100*float64(byOp[op])/float64(total))
	}
	return nil
}
