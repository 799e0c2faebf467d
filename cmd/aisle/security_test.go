package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/inference"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 (its own CA)
// and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "aisle-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	must(t, ln.Close())
	return addr
}

// TestServeTLSAndAuth runs "aisle serve" with TLS, a token file and
// --auth-scoring, and the "aisle infer" client with the matching flags:
// the client with the CA and the token is served, without the token it is
// refused, and the HTTP port serves /readyz over TLS.
func TestServeTLSAndAuth(t *testing.T) {
	must(t, inference.Init(ortLib(t)))
	defer inference.Shutdown()
	root, dir := t.TempDir(), t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "onnx", "identity_int64.onnx"))
	must(t, err)
	must(t, os.MkdirAll(filepath.Join(root, "ids", "1"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "ids", "1", "model.onnx"), data, 0o644))
	cert, key := selfSigned(t, dir)
	tokens := filepath.Join(dir, "tokens")
	must(t, os.WriteFile(tokens, []byte("cli-token\n"), 0o600))
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)

	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.addFlags(fs)
	must(t, fs.Parse([]string{"--models", root, "--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--poll-interval", "0",
		"--tls-cert", cert, "--tls-key", key, "--auth-token-file", tokens, "--auth-scoring"}))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	srvCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- runServer(srvCtx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	req := filepath.Join(dir, "req.json")
	must(t, os.WriteFile(req, []byte(`{"model_name":"ids","inputs":[{"name":"x","datatype":"INT64","shape":[1,4],"data":[1,2,3,4]}]}`), 0o644))
	tokFile := filepath.Join(dir, "client-token")
	must(t, os.WriteFile(tokFile, []byte("cli-token\n"), 0o600))
	args := []string{"--addr", grpcAddr, "--tls-ca", cert, "-f", req}
	var out bytes.Buffer
	for {
		out.Reset()
		err := infer(ctx, append(args, "--token-file", tokFile), &out)
		if err == nil {
			break
		}
		if ctx.Err() != nil || status.Code(err) != codes.Unavailable {
			t.Fatalf("infer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), `"data"`) {
		t.Fatalf("infer output %s", out.String())
	}
	if err := infer(ctx, args, io.Discard); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("infer without a token: %v, want UNAUTHENTICATED", err)
	}
	if err := infer(ctx, []string{"--addr", grpcAddr, "--token-file", tokFile, "-f", req}, io.Discard); err == nil {
		t.Fatal("plaintext client was served by a TLS server")
	}

	pemData, err := os.ReadFile(cert)
	must(t, err)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemData)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("https://" + httpAddr + "/readyz")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz over TLS: %s", resp.Status)
	}
}

// TestServeSecurityFlagsValidated refuses half-configured security.
func TestServeSecurityFlagsValidated(t *testing.T) {
	for _, args := range [][]string{
		{"--tls-cert", "c.pem"},
		{"--tls-client-ca", "ca.pem"},
		{"--auth-allowed-clients", "ci"},
		{"--auth-scoring"},
		{"--auth-token-file", "/nonexistent/tokens"},
	} {
		var cfg serveConfig
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		cfg.addFlags(fs)
		must(t, fs.Parse(args))
		if _, _, _, err := cfg.security.build(cfg.grpcAddr, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}

// TestServePortInUse: a port already taken fails start-up with an error
// naming the flag, and leaves the other port free and no goroutine behind.
func TestServePortInUse(t *testing.T) {
	must(t, inference.Init(ortLib(t)))
	defer inference.Shutdown()
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer busy.Close()
	for _, tc := range []struct {
		flag, grpcAddr, httpAddr string
	}{
		{"--grpc-addr", busy.Addr().String(), freeAddr(t)},
		{"--http-addr", freeAddr(t), busy.Addr().String()},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			var cfg serveConfig
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			cfg.addFlags(fs)
			must(t, fs.Parse([]string{"--models", t.TempDir(), "--grpc-addr", tc.grpcAddr, "--http-addr", tc.httpAddr}))
			err := runServer(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil || !strings.Contains(err.Error(), tc.flag) || !strings.Contains(err.Error(), "address already in use") {
				t.Fatalf("err = %v, want it to name %s and the port in use", err, tc.flag)
			}
			for _, addr := range []string{tc.grpcAddr, tc.httpAddr} {
				if addr == busy.Addr().String() {
					continue
				}
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("%s left open after the failed start: %v", addr, err)
				}
				ln.Close()
			}
		})
	}
}

// TestServeBadBanditsLeavesPortsFree: a bandits file that does not parse
// fails start-up and leaves both ports free (it once returned with them
// bound).
func TestServeBadBanditsLeavesPortsFree(t *testing.T) {
	must(t, inference.Init(ortLib(t)))
	defer inference.Shutdown()
	bad := filepath.Join(t.TempDir(), "bandits.yaml")
	must(t, os.WriteFile(bad, []byte("surfaces: [\n"), 0o644))
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.addFlags(fs)
	must(t, fs.Parse([]string{"--models", t.TempDir(), "--bandits", bad, "--grpc-addr", grpcAddr, "--http-addr", httpAddr}))
	if err := runServer(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("a bad bandits file started the server")
	}
	for _, addr := range []string{grpcAddr, httpAddr} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s left open after the failed start: %v", addr, err)
		}
		ln.Close()
	}
}
