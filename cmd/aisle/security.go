package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/aisle-ai/aisle/server"
)

// securityConfig holds the TLS and authorization flags of "aisle serve".
type securityConfig struct {
	tls            server.TLSFiles
	tokenFile      string
	allowedClients string
	authScoring    bool
	// recommendLogOpen logs unauthenticated Recommend answers too.
	recommendLogOpen bool
}

func (c *securityConfig) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.tls.CertFile, "tls-cert", "", "PEM certificate (chain) served on the gRPC and HTTP ports; reread when the file changes (empty: plaintext)")
	fs.StringVar(&c.tls.KeyFile, "tls-key", "", "PEM private key of --tls-cert; reread when the file changes")
	fs.StringVar(&c.tls.ClientCAFile, "tls-client-ca", "", "PEM CAs that sign client certificates (mutual TLS); reread when the file changes")
	fs.BoolVar(&c.tls.RequireClientCert, "tls-require-client-cert", false, "refuse gRPC clients without a certificate signed by --tls-client-ca (the HTTP port never requires one, for probes)")
	fs.StringVar(&c.tokenFile, "auth-token-file", "", "file of bearer tokens, one per line, accepted for mutating calls (and scoring calls with --auth-scoring); reread when it changes")
	fs.StringVar(&c.allowedClients, "auth-allowed-clients", "", "comma-separated client certificate identities (subject CN or DNS/URI/e-mail/IP SAN) allowed to make mutating calls; needs --tls-client-ca")
	fs.BoolVar(&c.authScoring, "auth-scoring", false, "require the same credentials for scoring and read calls (health checks stay open)")
	fs.BoolVar(&c.recommendLogOpen, "recommend-log-open", false, "log every Recommend answer (impression events, bandit pulls), not only those of callers allowed to make mutating calls; for private networks")
}

// build returns the gRPC and HTTP TLS configurations (nil for plaintext)
// and the authorizer. Without --auth-token-file or --auth-allowed-clients,
// mutating calls are refused.
func (c *securityConfig) build(grpcAddr string, log *slog.Logger) (grpcTLS, httpTLS *tls.Config, auth *server.Authorizer, err error) {
	if err := c.tls.Validate(); err != nil {
		return nil, nil, nil, err
	}
	var clients []string
	for _, s := range strings.Split(c.allowedClients, ",") {
		if s = strings.TrimSpace(s); s != "" {
			clients = append(clients, s)
		}
	}
	if len(clients) > 0 && c.tls.ClientCAFile == "" {
		return nil, nil, nil, fmt.Errorf("auth: --auth-allowed-clients needs --tls-client-ca to verify client certificates")
	}
	if c.tls.Enabled() {
		if grpcTLS, err = server.NewTLSConfig(c.tls, []string{"h2"}, log); err != nil {
			return nil, nil, nil, err
		}
		httpFiles := c.tls
		httpFiles.RequireClientCert = false
		if httpTLS, err = server.NewTLSConfig(httpFiles, []string{"h2", "http/1.1"}, log); err != nil {
			return nil, nil, nil, err
		}
	}
	auth, err = server.NewAuthorizer(server.AuthConfig{TokenFile: c.tokenFile, AllowedClients: clients, Scoring: c.authScoring}, log)
	if err != nil {
		return nil, nil, nil, err
	}
	switch {
	case c.tokenFile == "" && len(clients) == 0:
		log.Info("mutating calls are disabled: no authorization configured", "methods", server.MutatingMethods())
	case c.tokenFile != "" && !c.tls.Enabled() && !isLoopback(grpcAddr):
		log.Warn("bearer tokens travel in plaintext: serve with --tls-cert and --tls-key", "grpc", grpcAddr)
	}
	return grpcTLS, httpTLS, auth, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
