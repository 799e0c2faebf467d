package servetest

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Server is what Serve runs: *server.Server is one.
type Server interface {
	Serve(ctx context.Context, ln net.Listener) error
	Stop(ctx context.Context)
}

// Serve runs srv on a loopback port until the test ends and returns a
// client connection to it. Register it after Repository, so the cleanup
// stops the server (in-flight calls finish) before the repository closes.
func Serve(tb testing.TB, srv Server) *grpc.ClientConn {
	tb.Helper()
	conn, _ := ServeAddr(tb, srv)
	return conn
}

// ServeAddr is Serve that also returns the server's address and dials with
// dial (default: plaintext), for tests of TLS and credentials.
func ServeAddr(tb testing.TB, srv Server, dial ...grpc.DialOption) (*grpc.ClientConn, string) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	if len(dial) == 0 {
		dial = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(ln.Addr().String(), dial...)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		srv.Stop(sctx)
		cancel()
		<-served
	})
	return conn, ln.Addr().String()
}
