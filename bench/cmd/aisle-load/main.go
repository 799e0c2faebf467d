package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

type options struct {
	root, server, models, out string
	conc                      []int
	seqLens                   []int
	seqConc                   []int
	dur, warm                 time.Duration
	only                      string
	conns                     int
	serveFlags                string
}

func main() {
	var o options
	var conc, seqs, seqConc string
	smoke := flag.Bool("smoke", false, "CI smoke run: every scenario at c=1 and c=8 for 200ms, no sweep over sequence length beyond 8 and 32")
	flag.StringVar(&o.root, "root", ".", "aisle repository root (testdata/groceries, models/)")
	flag.StringVar(&o.server, "server", "bin/aisle", "the aisle binary")
	flag.StringVar(&o.models, "models", "build/bench/load/repo", "model repository to serve")
	flag.StringVar(&o.out, "out", "build/bench/load", "results folder (results.md, results.json, *.png, requests/)")
	flag.StringVar(&conc, "c", "1,4,16,64,256,512", "client concurrencies")
	flag.StringVar(&seqs, "seq", "8,16,32,64,128", "bench-encoder sequence lengths (when the repository has bench-encoder)")
	flag.StringVar(&seqConc, "seq-c", "16", "concurrencies of the sequence-length sweep (scripts/bench/objective.sh sweeps seq-16 over several)")
	flag.DurationVar(&o.dur, "d", 3*time.Second, "duration of one point")
	flag.DurationVar(&o.warm, "warm", 500*time.Millisecond, "warm-up per scenario (at the largest concurrency ≤ 64)")
	flag.StringVar(&o.only, "only", "", "comma-separated scenario names (default all)")
	flag.IntVar(&o.conns, "conns", 4, "gRPC connections the clients share")
	flag.StringVar(&o.serveFlags, "serve-flags", "", "extra `aisle serve` flags")
	flag.Parse()
	if *smoke {
		conc, seqs, o.dur, o.warm = "1,8", "8,32", 200*time.Millisecond, 100*time.Millisecond
	}
	var err error
	if o.conc, err = ints(conc); err == nil {
		o.seqLens, err = ints(seqs)
	}
	if err == nil {
		o.seqConc, err = ints(seqConc)
	}
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal("aisle-load: ", err)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad list %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func run(ctx context.Context, o options) error {
	d, err := loadHeldOut(o.root)
	if err != nil {
		return err
	}
	all := scenarios(d)
	if _, err := os.Stat(filepath.Join(o.models, "bench-encoder")); err == nil {
		for _, n := range o.seqLens {
			all = append(all, seqScenario(n))
		}
	}
	if o.only != "" {
		keep := all[:0]
		for _, s := range all {
			if strings.Contains(","+o.only+",", ","+s.name+",") {
				keep = append(keep, s)
			}
		}
		all = keep
	}
	if err := writeRequests(filepath.Join(o.out, "requests"), all); err != nil {
		return err
	}
	grpcAddr, err := freePort()
	if err != nil {
		return err
	}
	httpAddr, err := freePort()
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, o, grpcAddr, httpAddr)
	if err != nil {
		return err
	}
	defer srv.stop()
	conns := make([]*grpc.ClientConn, o.conns)
	for i := range conns {
		if conns[i], err = grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
			return err
		}
		defer conns[i].Close()
	}
	metrics := "http://" + httpAddr + "/metrics"
	var pts []point
	for _, s := range all {
		if len(s.reqs) == 0 {
			log.Printf("%s: no requests, skipped", s.name)
			continue
		}
		cs := o.conc
		if strings.HasPrefix(s.name, "seq-") {
			cs = o.seqConc
		}
		if _, err := runPoint(ctx, conns, s, min(cs[len(cs)-1], 64), o.warm, srv.pid, ""); err != nil {
			return err
		}
		for _, c := range cs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p, err := runPoint(ctx, conns, s, c, o.dur, srv.pid, metrics)
			if err != nil {
				return err
			}
			log.Printf("%-17s c=%-4d %8.0f rps  p50 %7.2f ms  p99 %7.2f ms  server %.2f cores %6.0f µs/req  rows/batch %.1f  errors %v",
				s.name, c, p.RPS, p.P50, p.P99, p.ServerCores, p.CPUPerReq, p.RowsPerBat, p.Errors)
			pts = append(pts, p)
		}
	}
	if err := srv.stop(); err != nil {
		log.Printf("server: %v", err)
	}
	return report(o, all, pts)
}

// server is the `aisle serve` child process; stop ends it (SIGTERM, then
// SIGKILL after 10 s) and is safe to call twice.
type server struct {
	cmd  *exec.Cmd
	pid  int
	done chan error // the Wait result, once
	once sync.Once
	err  error // guarded by once
}

func startServer(ctx context.Context, o options, grpcAddr, httpAddr string) (*server, error) {
	args := []string{"serve", "--models", o.models, "--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--poll-interval", "0", "--log-level", "warn"}
	args = append(args, strings.Fields(o.serveFlags)...)
	cmd := exec.Command(o.server, args...)
	logf, err := os.Create(filepath.Join(o.out, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with this process even when it is killed outright.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, pid: cmd.Process.Pid, done: make(chan error, 1)}
	// The goroutine ends when the child exits, which stop guarantees.
	go func() { s.done <- cmd.Wait(); logf.Close() }()
	deadline := time.After(60 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			_ = s.stop()
			return nil, fmt.Errorf("aisle serve exited before ready (%v); see %s", err, filepath.Join(o.out, "server.log"))
		case <-deadline:
			_ = s.stop()
			return nil, errors.New("aisle serve not ready after 60s")
		case <-ctx.Done():
			_ = s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *server) stop() error {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case s.err = <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			s.err = <-s.done
		}
	})
	return s.err
}
