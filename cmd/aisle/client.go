package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// tokenEnv names the environment variable the client subcommands read a
// bearer token from when --token-file is not given.
const tokenEnv = "AISLE_TOKEN"

// clientConfig holds the connection flags shared by the client subcommands.
type clientConfig struct {
	addr       string
	useTLS     bool
	caFile     string
	certFile   string
	keyFile    string
	serverName string
	tokenFile  string
}

func (c *clientConfig) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8001", "server gRPC address")
	fs.BoolVar(&c.useTLS, "tls", false, "connect with TLS (implied by --tls-ca, --tls-cert); the system roots verify the server unless --tls-ca is given")
	fs.StringVar(&c.caFile, "tls-ca", "", "PEM CA that signs the server certificate")
	fs.StringVar(&c.certFile, "tls-cert", "", "PEM client certificate for mutual TLS")
	fs.StringVar(&c.keyFile, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&c.serverName, "tls-server-name", "", "name to verify the server certificate against (default: the host of --addr)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file whose first line is a bearer token to send (default: $"+tokenEnv+")")
}

// dial connects to the server with the configured transport and token.
func (c *clientConfig) dial() (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if c.useTLS || c.caFile != "" || c.certFile != "" {
		cfg, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	tok, err := c.token()
	if err != nil {
		return nil, err
	}
	if tok != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(tok)))
	}
	conn, err := grpc.NewClient(c.addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", c.addr, err)
	}
	return conn, nil
}

func (c *clientConfig) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.serverName}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, fmt.Errorf("tls CA: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls CA %s holds no PEM certificate", c.caFile)
		}
	}
	if (c.certFile == "") != (c.keyFile == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if c.certFile != "" {
		pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func (c *clientConfig) token() (string, error) {
	if c.tokenFile == "" {
		return strings.TrimSpace(os.Getenv(tokenEnv)), nil
	}
	data, err := os.ReadFile(c.tokenFile)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	if line = strings.TrimSpace(line); line == "" {
		return "", fmt.Errorf("token file %s: first line is empty", c.tokenFile)
	}
	return line, nil
}

// bearer sends "authorization: Bearer <token>" with every call. It does not
// insist on TLS, so a token can be used on a loopback plaintext port.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }
