package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	pb "github.com/aisle-ai/aisle/proto/inference"
)

// syncBuffer is a log sink tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func withToken(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// tokenAuth returns an authorizer accepting one bearer token, and the token.
func tokenAuth(t *testing.T) (*Authorizer, string) {
	t.Helper()
	const tok = "test-admin-token"
	auth, err := NewAuthorizer(AuthConfig{TokenFile: writeFile(t, t.TempDir(), "tokens", []byte(tok+"\n"), 0)}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	return auth, tok
}

func identRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	return root
}

func infer(ctx context.Context, c pb.GRPCInferenceServiceClient) error {
	_, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "ident",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 2, 3, 4})}})
	return err
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

// TestMutatingClosedByDefault: with no authorization configured, load and
// unload are refused with PERMISSION_DENIED naming the flags to set, the
// model keeps serving, and scoring stays open.
func TestMutatingClosedByDefault(t *testing.T) {
	ts := startServer(t, identRepo(t), 0)
	ctx := testCtx(t)
	_, err := ts.client.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "ident"})
	wantCode(t, "unload", err, codes.PermissionDenied)
	if !strings.Contains(err.Error(), "--auth-token-file") {
		t.Fatalf("message %q does not say how to enable it", err)
	}
	_, err = ts.client.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "ident"})
	wantCode(t, "load", err, codes.PermissionDenied)
	// A bearer token does not open a server that accepts none.
	_, err = ts.client.RepositoryModelUnload(withToken(ctx, "anything"), &pb.RepositoryModelUnloadRequest{ModelName: "ident"})
	wantCode(t, "unload with a token", err, codes.PermissionDenied)
	if err := infer(ctx, ts.client); err != nil {
		t.Fatalf("model stopped serving: %v", err)
	}
}

// TestMutatingStreamClosedByDefault runs the stream interceptor on the
// streaming mutating methods other services add.
func TestMutatingStreamClosedByDefault(t *testing.T) {
	var a *Authorizer
	called := false
	h := func(any, grpc.ServerStream) error { called = true; return nil }
	for _, m := range []string{"/aisle.v1.Events/RecordEventStream", "/aisle.v1.Events/RecordEvents"} {
		err := a.streamInterceptor(nil)(nil, fakeStream{ctx: testCtx(t)}, &grpc.StreamServerInfo{FullMethod: m}, h)
		wantCode(t, m, err, codes.PermissionDenied)
	}
	if called {
		t.Fatal("handler ran")
	}
	if got := MutatingMethods(); len(got) != 7 {
		t.Fatalf("mutating methods %v, want 7", got)
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context //nolint:containedctx // a stream carries its context
}

func (f fakeStream) Context() context.Context { return f.ctx }

// TestBearerTokens: mutating calls need a token from the file; a missing
// or wrong token is UNAUTHENTICATED; a rotated file takes effect without a
// restart (at the next check, tokenCheckEvery); no token reaches the log or the error.
func TestBearerTokens(t *testing.T) {
	dir := t.TempDir()
	const good, wrong, next = "s3cret-token-1", "guessed-token-9", "rotated-token-2"
	file := writeFile(t, dir, "tokens", []byte("# operators\n"+good+"\n\n"), 0)
	var logs syncBuffer
	auth, err := NewAuthorizer(AuthConfig{TokenFile: file}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	clk := &skewClock{}
	auth.tokens.now = clk.now
	ts := startServerConfig(t, identRepo(t), 0, Config{Auth: auth}, noServices)
	ctx := testCtx(t)
	unload := func(ctx context.Context) error {
		_, err := ts.client.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "ident"})
		return err
	}
	load := func(ctx context.Context) error {
		_, err := ts.client.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "ident"})
		return err
	}

	err = unload(ctx)
	wantCode(t, "no token", err, codes.Unauthenticated)
	err = unload(withToken(ctx, wrong))
	wantCode(t, "wrong token", err, codes.Unauthenticated)
	if strings.Contains(err.Error(), wrong) {
		t.Fatalf("error %q echoes the token", err)
	}
	err = unload(metadata.AppendToOutgoingContext(ctx, "authorization", "Basic "+good))
	wantCode(t, "basic scheme", err, codes.Unauthenticated)
	if err := infer(ctx, ts.client); err != nil {
		t.Fatalf("refused unload still unloaded: %v", err)
	}
	if err := unload(withToken(ctx, good)); err != nil {
		t.Fatalf("unload with the token: %v", err)
	}
	wantCode(t, "infer after unload", infer(ctx, ts.client), codes.Unavailable)
	if err := load(withToken(ctx, good)); err != nil {
		t.Fatalf("load with the token: %v", err)
	}
	if err := infer(ctx, ts.client); err != nil {
		t.Fatalf("infer after load: %v", err)
	}

	// Rotation: the old token stops working, the new one works.
	writeFile(t, dir, "tokens", []byte(next+"\n"), time.Hour)
	clk.advance(tokenCheckEvery)
	wantCode(t, "old token after rotation", load(withToken(ctx, good)), codes.Unauthenticated)
	if err := load(withToken(ctx, next)); err != nil {
		t.Fatalf("new token after rotation: %v", err)
	}
	// Model names from requests stay inside the repository; a model folder
	// that is a symbolic link (here to a real model elsewhere) is not one.
	elsewhere := identRepo(t)
	if err := os.Symlink(filepath.Join(elsewhere, "ident"), filepath.Join(ts.root, "linked")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../ident", "ident/../../etc", "/etc", "..", "linked"} {
		_, err := ts.client.RepositoryModelLoad(withToken(ctx, next), &pb.RepositoryModelLoadRequest{ModelName: name})
		wantCode(t, "load "+name, err, codes.NotFound)
	}

	for _, secret := range []string{good, wrong, next} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("log contains token %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "call refused") {
		t.Fatalf("refusals not logged:\n%s", logs.String())
	}
}

// TestClientIdentity: a verified client certificate whose name is allowed
// may unload; another client of the same CA may not (PERMISSION_DENIED);
// both may score.
func TestClientIdentity(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := newTestCA(t, "server-ca"), newTestCA(t, "client-ca")
	c, k := serverCA.issue(t, "server", false)
	cfg, err := NewTLSConfig(TLSFiles{CertFile: writeFile(t, dir, "cert.pem", c, 0), KeyFile: writeFile(t, dir, "key.pem", k, 0),
		ClientCAFile: writeFile(t, dir, "ca.pem", clientCA.pem, 0)}, []string{"h2"}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := NewAuthorizer(AuthConfig{AllowedClients: []string{"deployer.example"}}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	admin := &tls.Config{RootCAs: pool(serverCA), Certificates: []tls.Certificate{clientCA.keyPair(t, "ci", "deployer.example")}}
	ts := startServerConfig(t, identRepo(t), 0, Config{TLS: cfg, Auth: auth}, noServices, grpc.WithTransportCredentials(credentials.NewTLS(admin)))
	ctx := testCtx(t)
	scorer := tlsClient(t, ts.addr, &tls.Config{RootCAs: pool(serverCA), Certificates: []tls.Certificate{clientCA.keyPair(t, "scorer")}})
	anonymous := tlsClient(t, ts.addr, &tls.Config{RootCAs: pool(serverCA)})

	_, err = scorer.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "ident"})
	wantCode(t, "unload by scorer", err, codes.PermissionDenied)
	_, err = anonymous.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "ident"})
	wantCode(t, "unload without a certificate", err, codes.Unauthenticated)
	for _, c := range []pb.GRPCInferenceServiceClient{scorer, anonymous, ts.client} {
		if err := infer(ctx, c); err != nil {
			t.Fatalf("scoring: %v", err)
		}
	}
	if _, err := ts.client.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "ident"}); err != nil {
		t.Fatalf("unload by the allowed identity: %v", err)
	}
}

// TestScoringAuth: with Scoring set, inference and streaming calls need
// credentials too; health checks stay open for probes.
func TestScoringAuth(t *testing.T) {
	file := writeFile(t, t.TempDir(), "tokens", []byte("score-token\n"), 0)
	auth, err := NewAuthorizer(AuthConfig{TokenFile: file, Scoring: true}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	ts := startServerConfig(t, identRepo(t), 0, Config{Auth: auth}, noServices)
	ctx := testCtx(t)
	wantCode(t, "infer without a token", infer(ctx, ts.client), codes.Unauthenticated)
	if err := infer(withToken(ctx, "score-token"), ts.client); err != nil {
		t.Fatalf("infer with the token: %v", err)
	}
	if _, err := healthpb.NewHealthClient(ts.conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health without a token: %v", err)
	}
	stream, err := reflectpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(ctx)
	if err == nil {
		_, err = stream.Recv()
	}
	wantCode(t, "reflection stream without a token", err, codes.Unauthenticated)

	if _, err := NewAuthorizer(AuthConfig{Scoring: true}, discardLog()); err == nil {
		t.Fatal("scoring auth without any method: want an error")
	}
}

// startServerAuthed serves root with bearer-token authorization configured
// and a client connection that sends the token on every call (unary and
// streaming), for tests of services with mutating calls.
func startServerAuthed(t testing.TB, root string, services func(Repository) []Service) *testServer {
	t.Helper()
	const tok = "test-admin-token"
	auth, err := NewAuthorizer(AuthConfig{TokenFile: writeFile(t, t.TempDir(), "tokens", []byte(tok+"\n"), 0)}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	return startServerConfig(t, root, 0, Config{Auth: auth}, services,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(withToken(ctx, tok), method, req, reply, cc, opts...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(withToken(ctx, tok), desc, cc, method, opts...)
		}))
}

// skewClock is time.Now moved forward by the test, safe to read from the
// server's goroutines.
type skewClock struct{ skew atomic.Int64 }

func (c *skewClock) now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *skewClock) advance(d time.Duration) { c.skew.Add(int64(d)) }

// TestTokenRotation: the token file is looked at no more than once per
// tokenCheckEvery. A rotation takes effect at the first check after it:
// the new token is accepted and the old refused; a file that holds no
// token revokes all; a missing file (being replaced) keeps the tokens.
func TestTokenRotation(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "tokens", []byte("old\n"), 0)
	tf, err := newTokenFile(file, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	// A clock that moves only when the test says: with time.Now plus a
	// skew, a one-second stall would look at the file "before the next
	// check" and fail the test.
	clk := &fakeClock{t: time.Now()}
	tf.now = clk.now
	want := func(what string, tok string, ok bool) {
		t.Helper()
		if got := tf.contains(tok); got != ok {
			t.Fatalf("%s: token %q accepted = %v, want %v", what, tok, got, ok)
		}
	}
	want("start", "old", true)
	writeFile(t, dir, "tokens", []byte("new\n"), time.Hour)
	want("before the next check", "old", true)
	want("before the next check", "new", false)
	clk.advance(tokenCheckEvery)
	want("after rotation", "new", true)
	want("after rotation", "old", false)

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	clk.advance(tokenCheckEvery)
	want("file missing", "new", true)
	writeFile(t, dir, "tokens", []byte("# none\n"), 2*time.Hour)
	clk.advance(tokenCheckEvery)
	want("empty file", "new", false)
}

// BenchmarkTokenCheck: a guarded call's token check, from many goroutines
// at once.
func BenchmarkTokenCheck(b *testing.B) {
	tf, err := newTokenFile(writeFile(b, b.TempDir(), "tokens", []byte("tok\n"), 0), discardLog())
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !tf.contains("tok") {
				b.Fatal("token refused")
			}
		}
	})
}
