// Package redistest starts real redis-server processes for tests: a single
// server with the append-only file on, and a three-master Redis Cluster,
// each on free loopback ports in a test's temporary directory, stoppable
// with SIGKILL and restartable from their files.
//
// Durability: servers run with appendonly yes and appendfsync always, so a
// write is in the AOF and fsynced before its reply is sent; the crash tests
// rely on it ("acknowledged" = in the AOF).
//
// The binaries come from third_party/redis (scripts/setup-redis.sh, run by
// make test) or $AISLE_REDIS_SERVER / $AISLE_REDIS_CLI. When they are
// missing the test fails under CI=true and skips with a loud message
// elsewhere: Redis tests never skip silently in CI.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binaries returns the redis-server and redis-cli paths, failing or
// skipping t when they are missing (see the package doc).
func Binaries(t testing.TB) (server, cli string) {
	t.Helper()
	server, cli = os.Getenv("AISLE_REDIS_SERVER"), os.Getenv("AISLE_REDIS_CLI")
	if server == "" || cli == "" {
		if dir, ok := findThirdParty(); ok {
			server, cli = filepath.Join(dir, "redis-server"), filepath.Join(dir, "redis-cli")
		}
	}
	if server != "" && cli != "" {
		if _, err := os.Stat(server); err == nil {
			return server, cli
		}
	}
	msg := "redis-server not found: run scripts/setup-redis.sh (make test does) or set AISLE_REDIS_SERVER and AISLE_REDIS_CLI"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING REDIS TEST: " + msg)
	return "", ""
}

// findThirdParty walks up from the working directory to the repository's
// third_party/redis/bin.
func findThirdParty() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		bin := filepath.Join(dir, "third_party", "redis", "bin")
		if _, err := os.Stat(filepath.Join(bin, "redis-server")); err == nil {
			return bin, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Server is one redis-server process.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string

	mu  sync.Mutex // guards cmd
	cmd *exec.Cmd
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Start runs a single redis-server with AOF (appendfsync always) in a
// temporary directory; it is killed when the test ends. extra arguments
// follow the defaults and override them (e.g. "--appendfsync", "everysec").
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, _ := Binaries(t)
	return startServer(t, bin, t.TempDir(), extra)
}

func startServer(t testing.TB, bin, dir string, extra []string) *Server {
	t.Helper()
	s := &Server{t: t, bin: bin, dir: dir, port: freePort(t), args: extra}
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

// Restart starts the server again (after Kill) from its AOF and waits until
// it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	if err := waitPing(s.Addr(), 10*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
		s.t.Fatalf("redis-server on %s: %v\n%s", s.Addr(), err, log)
	}
}

// Kill sends SIGKILL (no shutdown, no final fsync) and waits for the
// process to end. Killing a stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

// freePort asks the kernel for a loopback port that is free now. Cluster
// nodes also use port+10000 for their bus, so ports above 55535 are
// refused and asked again.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if p+10000 < 65535 {
			return p
		}
	}
	t.Fatal("no free port below 55535")
	return 0
}

// waitPing waits until a RESP PING on addr answers PONG (not LOADING).
func waitPing(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		if last = ping(addr); last == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no PONG within %s: %w", limit, last)
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return errors.New(strings.TrimSpace(line))
	}
	return nil
}

// Cluster is three redis-server masters joined into a Redis Cluster.
type Cluster struct {
	Nodes []*Server
}

// Addrs are the masters' addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// StartCluster starts three masters with cluster mode and AOF on, creates
// the cluster with redis-cli --cluster create (no replicas) and waits until
// every node reports cluster_state:ok.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, cli := Binaries(t)
	c := &Cluster{}
	for i := range 3 {
		dir := filepath.Join(t.TempDir(), "node"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, startServer(t, bin, dir, []string{
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "2000",
		}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		for {
			out, err := exec.CommandContext(ctx, cli, "-h", "127.0.0.1", "-p", strconv.Itoa(n.port), "cluster", "info").Output()
			if err == nil && strings.Contains(string(out), "cluster_state:ok") {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("cluster node %s never reached cluster_state:ok: %s", n.Addr(), out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}
