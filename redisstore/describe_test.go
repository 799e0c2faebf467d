package redisstore

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/aisle-ai/aisle/event"
)

// Store errors reach gRPC clients; the store's addresses must not.
func TestClassifyHidesAddresses(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 6379},
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, err := range []error{
		dial,
		errors.New("MOVED 42 10.0.0.8:6379"),
		errors.New("dial tcp [::1]:7001: connect: connection refused"),
		errors.New("dial tcp redis-0.redis.svc:6379: i/o timeout"),
	} {
		got := classify(err, event.ErrOverloaded, event.ErrUnavailable)
		if !errors.Is(got, event.ErrUnavailable) {
			t.Errorf("%v: classified %v, want ErrUnavailable", err, got)
		}
		for _, leak := range []string{"10.0.0.7", "10.0.0.8", "::1", "7001", "6379", "redis-0.redis.svc"} {
			if strings.Contains(got.Error(), leak) {
				t.Errorf("%q leaks %q", got, leak)
			}
		}
	}
	if got := classify(dial, event.ErrOverloaded, event.ErrUnavailable).Error(); !strings.Contains(got, "connection refused") {
		t.Errorf("%q lost the cause", got)
	}
}

// Dedupe markers of different (guest, event) pairs never collide, even
// when the ids contain ':'.
func TestSeenKeysDistinct(t *testing.T) {
	k := keys{prefix: "t", partitions: 1}
	if a, b := k.seen("a:b", "c"), k.seen("a", "b:c"); a == b {
		t.Fatalf("seen(a:b, c) = seen(a, b:c) = %q", a)
	}
}
