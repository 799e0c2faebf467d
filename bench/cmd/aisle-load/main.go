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
	"slices"
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
	redis                     string // redis-server binary for events-redis
	redisFsync                string // its appendfsync
	tokenFile                 string // --auth-token-file of every server
	catalog                   []int  // catalogue sizes of the sweep
	catalogConc               []int
	smoke                     bool // checkPoints judges the run
}

func main() {
	var o options
	var conc, seqs, seqConc, cat, catConc string
	smoke := flag.Bool("smoke", false, "CI smoke run: every scenario at c=1 and c=8 for 200ms, no sweep over sequence length beyond 8 and 32, the catalogue sweep at its smallest size at c=8; exits non-zero when a scenario's calls all fail or any call fails with a code other than RESOURCE_EXHAUSTED")
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
	flag.StringVar(&o.redis, "redis", "", "redis-server binary for the events-redis scenario (default $AISLE_REDIS_SERVER, then third_party/redis/bin/redis-server; none: skipped)")
	flag.StringVar(&o.redisFsync, "redis-fsync", "always", "appendfsync of that redis-server: always (acknowledged = fsynced, as redistest) or everysec")
	flag.StringVar(&cat, "catalog", "169,5000,50000", "catalogue sizes of the Recommend sweep (synthetic variants of the shipped items, built under -out)")
	flag.StringVar(&catConc, "catalog-c", "16", "concurrencies of the catalogue sweep")
	flag.Parse()
	if o.conns < 1 {
		log.Fatalf("aisle-load: -conns %d: want at least 1", o.conns)
	}
	o.smoke = *smoke
	if *smoke {
		conc, seqs, o.dur, o.warm = "1,8", "8,32", 200*time.Millisecond, 100*time.Millisecond
		cat, catConc = strings.Split(cat, ",")[0], "8"
	}
	var err error
	if o.conc, err = ints(conc); err == nil {
		o.seqLens, err = ints(seqs)
	}
	if err == nil {
		o.seqConc, err = ints(seqConc)
	}
	if err == nil {
		o.catalog, err = ints(cat)
	}
	if err == nil {
		o.catalogConc, err = ints(catConc)
	}
	if err == nil && o.redisFsync != "always" && o.redisFsync != "everysec" {
		err = fmt.Errorf("-redis-fsync %q: want always or everysec", o.redisFsync)
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
	addrs, err := freePorts(1)
	if err != nil {
		return "", err
	}
	return addrs[0], nil
}

// freePorts returns n distinct free loopback addresses: every listener is
// held open until all n are picked, so two picks cannot return the same
// port (one at a time, the gRPC and HTTP ports could coincide).
func freePorts(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// phase is one `aisle serve` process and the scenarios driven against
// it: the main server (every RPC over the shipped models), the Redis-backed
// server (RecordEvents into a real redis-server), and one server per
// catalogue size. prepare, when set, runs first and says what to serve.
type phase struct {
	name    string // server-<name>.log; "" = the main server (server.log)
	models  string
	ss      []*scenario
	conc    []int         // nil = o.conc (o.seqConc for the seq- scenarios)
	ready   time.Duration // how long serve may take to become ready
	prepare func() (setup, error)
}

// setup is what a phase's prepare made: the repository to serve, extra
// serve flags, a process besides the server whose CPU counts too (the
// redis-server; 0 = none) and what to undo after the phase.
type setup struct {
	models string
	flags  []string
	side   int
	undo   func()
}

// selected reports whether -only picks the scenario: its exact name, or a
// family prefix ("infer" picks infer-encoder, infer-mlp and infer-gnn;
// "catalog" every catalogue size; "events" both event backends).
func selected(only, name string) bool {
	if only == "" {
		return true
	}
	for e := range strings.SplitSeq(only, ",") {
		if e = strings.TrimSpace(e); e != "" && (name == e || strings.HasPrefix(name, e+"-")) {
			return true
		}
	}
	return false
}

func run(ctx context.Context, o options) error {
	d, err := loadHeldOut(o.root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	tokenFile, token, err := writeToken(o.out)
	if err != nil {
		return err
	}
	o.tokenFile = tokenFile
	main := scenarios(d, token)
	if _, err := os.Stat(filepath.Join(o.models, "bench-encoder")); err == nil {
		for _, n := range o.seqLens {
			main = append(main, seqScenario(n))
		}
	}
	main = slices.DeleteFunc(main, func(s *scenario) bool { return !selected(o.only, s.name) })
	phases := []phase{{models: o.models, ss: main, ready: time.Minute}}
	if selected(o.only, "events-redis") {
		if bin := redisBinary(o.redis, o.root); bin == "" {
			log.Printf("events-redis: no redis-server (scripts/setup-redis.sh, $AISLE_REDIS_SERVER or -redis), skipped")
		} else {
			phases = append(phases, phase{name: "redis", models: o.models, ready: time.Minute,
				ss: []*scenario{eventScenario("events-redis", "Redis, AOF appendfsync "+o.redisFsync, d, token)},
				prepare: func() (setup, error) {
					r, err := startRedis(bin, filepath.Join(o.out, "redis"), o.redisFsync)
					if err != nil {
						return setup{}, err
					}
					return setup{models: o.models, flags: []string{"--redis-addr", r.addr}, side: r.cmd.Process.Pid, undo: r.stop}, nil
				}})
		}
	}
	for _, n := range o.catalog {
		s := catalogScenario(n, d)
		if !selected(o.only, s.name) {
			continue
		}
		phases = append(phases, phase{name: s.name, ss: []*scenario{s}, conc: o.catalogConc,
			ready: readyWithin(n),
			prepare: func() (setup, error) {
				dir, err := catalogRepo(o.models, o.out, n)
				// The sweep measures cost, not admission: without the
				// adaptive limit (--latency-target 0) a large catalogue's
				// calls are served, not refused once p99 passes 50 ms.
				return setup{models: dir, flags: []string{"--latency-target", "0"}, undo: func() {}}, err
			}})
	}
	var all []*scenario
	for _, ph := range phases {
		all = append(all, ph.ss...)
	}
	if err := writeRequests(filepath.Join(o.out, "requests"), all); err != nil {
		return err
	}
	var pts []point
	for _, ph := range phases {
		if len(ph.ss) == 0 {
			continue
		}
		p, err := runPhase(ctx, o, ph)
		pts = append(pts, p...)
		if err != nil {
			// Keep what the earlier phases measured.
			if rerr := report(o, all, pts); rerr != nil {
				log.Printf("report: %v", rerr)
			}
			return err
		}
	}
	rerr := report(o, all, pts)
	if o.smoke {
		if err := checkPoints(pts); err != nil {
			if rerr != nil {
				log.Printf("report: %v", rerr)
			}
			return err
		}
	}
	return rerr
}

// runPhase starts the phase's server, runs each scenario's warm-up and
// points, and stops the server (and what prepare started).
func runPhase(ctx context.Context, o options, ph phase) ([]point, error) {
	su := setup{models: ph.models}
	if ph.prepare != nil {
		var err error
		if su, err = ph.prepare(); err != nil {
			return nil, fmt.Errorf("%s: %w", ph.name, err)
		}
		defer su.undo()
	}
	logName := "server.log"
	if ph.name != "" {
		logName = "server-" + ph.name + ".log"
	}
	t0 := time.Now()
	var srv *server
	var grpcAddr, httpAddr string
	var err error
	// A port picked free can be taken by another process before the server
	// binds it: a second try on new ports keeps that from failing the run.
	for try := 0; ; try++ {
		addrs, perr := freePorts(2)
		if perr != nil {
			return nil, perr
		}
		grpcAddr, httpAddr = addrs[0], addrs[1]
		srv, err = startServer(ctx, o, su.models, su.flags, grpcAddr, httpAddr, filepath.Join(o.out, logName), ph.ready)
		if err == nil {
			break
		}
		if try == 1 || !errors.Is(err, errExited) || ctx.Err() != nil {
			return nil, err
		}
		log.Printf("%s: %v; starting again on new ports", ph.name, err)
	}
	defer srv.stop()
	if ph.name != "" {
		log.Printf("%s: serving %s, ready after %.1f s", ph.name, su.models, time.Since(t0).Seconds())
	}
	conns := make([]*grpc.ClientConn, o.conns)
	for i := range conns {
		if conns[i], err = grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
			return nil, err
		}
		defer conns[i].Close()
	}
	metrics := "http://" + httpAddr + "/metrics"
	var pts []point
	for _, s := range ph.ss {
		if len(s.reqs) == 0 {
			log.Printf("%s: no requests, skipped", s.name)
			continue
		}
		cs := o.conc
		switch {
		case ph.conc != nil:
			cs = ph.conc
		case strings.HasPrefix(s.name, "seq-"):
			cs = o.seqConc
		}
		if _, err := runPoint(ctx, conns, s, min(cs[len(cs)-1], 64), o.warm, srv.pid, 0, ""); err != nil {
			return pts, err
		}
		for _, c := range cs {
			if ctx.Err() != nil {
				return pts, ctx.Err()
			}
			p, err := runPoint(ctx, conns, s, c, o.dur, srv.pid, su.side, metrics)
			if err != nil {
				return pts, err
			}
			ev := ""
			if s.units != nil {
				ev = fmt.Sprintf("  %8.0f events/s", p.EventsPerS)
			}
			if su.side != 0 {
				ev += fmt.Sprintf("  redis %.2f cores", p.SideCores)
			}
			log.Printf("%-17s c=%-4d %8.0f rps%s  p50 %7.2f ms  p99 %7.2f ms  server %.2f cores %6.0f µs/req  rows/batch %.1f  errors %v",
				s.name, c, p.RPS, ev, p.P50, p.P99, p.ServerCores, p.CPUPerReq, p.RowsPerBat, p.Errors)
			pts = append(pts, p)
		}
	}
	if err := srv.stop(); err != nil {
		log.Printf("server: %v", err)
	}
	return pts, nil
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

func startServer(ctx context.Context, o options, models string, extra []string, grpcAddr, httpAddr, logPath string, ready time.Duration) (*server, error) {
	args := []string{"serve", "--models", models, "--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--poll-interval", "0", "--log-level", "warn"}
	args = append(args, "--auth-token-file", o.tokenFile)
	args = append(args, strings.Fields(o.serveFlags)...)
	args = append(args, extra...)
	cmd := exec.Command(o.server, args...)
	logf, err := os.Create(logPath)
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
	deadline := time.After(ready)
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
			return nil, fmt.Errorf("%w (%v); see %s", errExited, err, logPath)
		case <-deadline:
			_ = s.stop()
			return nil, fmt.Errorf("aisle serve not ready after %s; see %s", ready, logPath)
		case <-ctx.Done():
			_ = s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// errExited is a server that ended before it was ready (a taken port
// among the causes), which runPhase tries once more.
var errExited = errors.New("aisle serve exited before ready")

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

// readyWithin is how long a catalogue of n items may take to become
// ready: serve builds the HNSW graph of a large catalogue at load (tens of
// CPU-seconds at 50k items); a small one that is not ready in a minute is
// broken, and the CI smoke should not wait ten.
func readyWithin(n int) time.Duration {
	if n > 5000 {
		return 10 * time.Minute
	}
	return time.Minute
}
