package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// redisServer is a redis-server child on a free loopback port, configured
// as redisstore/redistest starts one (append-only file on, appendfsync
// always: an acknowledged event is fsynced; -redis-fsync everysec trades
// up to a second of acknowledged events on power loss for throughput, as
// BENCHMARKS.md §6 compares), in its own directory under the results
// folder. stop ends it and is safe to call twice.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	done chan error // the Wait result, once
	once sync.Once
}

// redisBinary is the redis-server to start: flag, else $AISLE_REDIS_SERVER,
// else the repository's third_party/redis/bin/redis-server
// (scripts/setup-redis.sh); "" when none is there.
func redisBinary(flag, root string) string {
	for _, p := range []string{flag, os.Getenv("AISLE_REDIS_SERVER"), filepath.Join(root, "third_party", "redis", "bin", "redis-server")} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

func startRedis(bin, dir, fsync string) (*redisServer, error) {
	// Absolute: redis-server changes into --dir before it opens its log.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", fsync, "--save", "",
		"--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(dir, "redis.log"))
	// Redis dies with this process even when it is killed outright.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	r := &redisServer{addr: addr, cmd: cmd, done: make(chan error, 1)}
	// The goroutine ends when the child exits, which stop guarantees.
	go func() { r.done <- cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := ping(addr); err == nil {
			return r, nil
		} else if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server on %s: %v (see %s)", addr, err, filepath.Join(dir, "redis.log"))
		}
		select {
		case err := <-r.done:
			r.done <- err
			r.stop()
			return nil, fmt.Errorf("redis-server exited (%v); see %s", err, filepath.Join(dir, "redis.log"))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ping sends PING in the inline protocol and wants +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(l, "+PONG") {
		return errors.New("PING answered " + strings.TrimSpace(l))
	}
	return nil
}

// stop sends SIGTERM (Redis shuts down cleanly) and SIGKILL after 10 s.
func (r *redisServer) stop() {
	r.once.Do(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-r.done:
			r.done <- err
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			r.done <- <-r.done
		}
	})
}
