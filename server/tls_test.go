package server

import (
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"

	pb "github.com/aisle-ai/aisle/proto/inference"
)

func noServices(Repository) []Service { return nil }

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// tlsClient dials addr over TLS with cfg; ServerName defaults to localhost.
func tlsClient(t *testing.T, addr string, cfg *tls.Config, opts ...grpc.DialOption) pb.GRPCInferenceServiceClient {
	t.Helper()
	if cfg.ServerName == "" {
		cfg.ServerName = "localhost"
	}
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(cfg))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewGRPCInferenceServiceClient(conn)
}

// serverName calls ModelInfer on a fresh connection and returns the common
// name of the certificate the server presented.
func serverName(t *testing.T, c pb.GRPCInferenceServiceClient) (string, error) {
	t.Helper()
	var p peer.Peer
	_, err := c.ModelInfer(testCtx(t), &pb.ModelInferRequest{ModelName: "ident",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 2, 3, 4})}}, grpc.Peer(&p))
	if err != nil {
		return "", err
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		t.Fatalf("peer auth info is %T, want TLS", p.AuthInfo)
	}
	return info.State.PeerCertificates[0].Subject.CommonName, nil
}

// TestTLSRotation serves gRPC over TLS, refuses plaintext, and picks up a
// rotated certificate at the next handshake without a restart; a rotation
// whose key does not match keeps the previous certificate.
func TestTLSRotation(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	dir := t.TempDir()
	ca := newTestCA(t, "test-ca")
	c1, k1 := ca.issue(t, "server-1", false)
	files := TLSFiles{CertFile: writeFile(t, dir, "cert.pem", c1, 0), KeyFile: writeFile(t, dir, "key.pem", k1, 0)}
	cfg, err := NewTLSConfig(files, []string{"h2"}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	ts := startServerConfig(t, root, 0, Config{TLS: cfg}, noServices,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool(ca), ServerName: "localhost"})))

	if name, err := serverName(t, ts.client); err != nil || name != "server-1" {
		t.Fatalf("server cert %q, err %v; want server-1", name, err)
	}
	plain, err := grpc.NewClient(ts.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := pb.NewGRPCInferenceServiceClient(plain).ServerLive(testCtx(t), &pb.ServerLiveRequest{}); err == nil {
		t.Fatal("plaintext call succeeded on a TLS port")
	}

	c2, k2 := ca.issue(t, "server-2", false)
	writeFile(t, dir, "key.pem", k2, time.Hour)
	writeFile(t, dir, "cert.pem", c2, time.Hour)
	if name, err := serverName(t, tlsClient(t, ts.addr, &tls.Config{RootCAs: pool(ca)})); err != nil || name != "server-2" {
		t.Fatalf("after rotation: server cert %q, err %v; want server-2", name, err)
	}

	// Half a rotation: a new certificate whose key is not written yet.
	c3, _ := ca.issue(t, "server-3", false)
	writeFile(t, dir, "cert.pem", c3, 2*time.Hour)
	if name, err := serverName(t, tlsClient(t, ts.addr, &tls.Config{RootCAs: pool(ca)})); err != nil || name != "server-2" {
		t.Fatalf("mismatched rotation: server cert %q, err %v; want server-2 kept", name, err)
	}
}

// TestMutualTLS requires client certificates signed by the client CA, and
// follows a rotated client CA file.
func TestMutualTLS(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	dir := t.TempDir()
	serverCA, clientCA, otherCA := newTestCA(t, "server-ca"), newTestCA(t, "client-ca"), newTestCA(t, "other-ca")
	c, k := serverCA.issue(t, "server", false)
	files := TLSFiles{
		CertFile: writeFile(t, dir, "cert.pem", c, 0), KeyFile: writeFile(t, dir, "key.pem", k, 0),
		ClientCAFile: writeFile(t, dir, "client-ca.pem", clientCA.pem, 0), RequireClientCert: true,
	}
	cfg, err := NewTLSConfig(files, []string{"h2"}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	good := &tls.Config{RootCAs: pool(serverCA), Certificates: []tls.Certificate{clientCA.keyPair(t, "scorer")}}
	ts := startServerConfig(t, root, 0, Config{TLS: cfg}, noServices, grpc.WithTransportCredentials(credentials.NewTLS(good)))
	if _, err := serverName(t, ts.client); err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
	if _, err := serverName(t, tlsClient(t, ts.addr, &tls.Config{RootCAs: pool(serverCA)})); err == nil {
		t.Fatal("client without a certificate was served")
	}
	other := &tls.Config{RootCAs: pool(serverCA), Certificates: []tls.Certificate{otherCA.keyPair(t, "scorer")}}
	if _, err := serverName(t, tlsClient(t, ts.addr, other)); err == nil {
		t.Fatal("client with a certificate from another CA was served")
	}

	// Rotate the client CA to otherCA: its clients get in, clientCA's no
	// longer do.
	writeFile(t, dir, "client-ca.pem", otherCA.pem, time.Hour)
	if _, err := serverName(t, tlsClient(t, ts.addr, other.Clone())); err != nil {
		t.Fatalf("after CA rotation, client of the new CA: %v", err)
	}
	if _, err := serverName(t, tlsClient(t, ts.addr, good.Clone())); err == nil {
		t.Fatal("after CA rotation, client of the old CA was served")
	}
}

func TestTLSFilesValidate(t *testing.T) {
	for _, f := range []TLSFiles{
		{CertFile: "c"},
		{KeyFile: "k"},
		{ClientCAFile: "ca"},
		{CertFile: "c", KeyFile: "k", RequireClientCert: true},
	} {
		if err := f.Validate(); err == nil {
			t.Errorf("%+v: want an error", f)
		}
	}
	if _, err := NewTLSConfig(TLSFiles{CertFile: "/nonexistent/c", KeyFile: "/nonexistent/k"}, nil, discardLog()); err == nil {
		t.Error("missing files: want an error")
	}
}
