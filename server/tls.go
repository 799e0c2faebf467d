package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/aisle-ai/aisle/filestamp"
)

// TLSFiles names the PEM files a listener serves TLS with.
type TLSFiles struct {
	// CertFile and KeyFile hold the server certificate (with any
	// intermediates) and its private key. Both or neither.
	CertFile, KeyFile string
	// ClientCAFile, when set, holds the CAs that sign client certificates:
	// a client presenting one is verified against them (mutual TLS), and
	// its identity can authorize mutating calls (AuthConfig.AllowedClients).
	ClientCAFile string
	// RequireClientCert refuses the handshake of a client without a
	// certificate signed by ClientCAFile. Off, such clients connect and
	// can still use a bearer token or the open scoring calls.
	RequireClientCert bool
}

// Enabled reports whether TLS is configured.
func (f TLSFiles) Enabled() bool { return f.CertFile != "" || f.KeyFile != "" }

// Validate reports a half-configured TLS setup.
func (f TLSFiles) Validate() error {
	switch {
	case (f.CertFile == "") != (f.KeyFile == ""):
		return errors.New("tls: --tls-cert and --tls-key go together")
	case f.ClientCAFile != "" && !f.Enabled():
		return errors.New("tls: --tls-client-ca needs --tls-cert and --tls-key")
	case f.RequireClientCert && f.ClientCAFile == "":
		return errors.New("tls: requiring client certificates needs --tls-client-ca")
	}
	return nil
}

// NewTLSConfig returns a server TLS configuration that rereads f's files
// whenever one of them changes (modification time or size), so rotated
// certificates take effect at the next handshake without a restart. A
// rotation caught half-written (key not matching the certificate yet) keeps
// the previous configuration and is logged; the next handshake retries.
// nextProtos are the ALPN protocols the listener speaks ("h2" for gRPC).
func NewTLSConfig(f TLSFiles, nextProtos []string, log *slog.Logger) (*tls.Config, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if !f.Enabled() {
		return nil, errors.New("tls: no certificate configured")
	}
	if log == nil {
		log = slog.Default()
	}
	r := &tlsReloader{files: f, nextProtos: nextProtos, log: log}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		NextProtos:         nextProtos,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return r.current(), nil },
	}, nil
}

// tlsReloader holds the configuration built from the files as last read.
type tlsReloader struct {
	files      TLSFiles
	nextProtos []string
	log        *slog.Logger

	mu     sync.Mutex // guards cfg and stamps
	cfg    *tls.Config
	stamps []filestamp.Stamp
}

func (r *tlsReloader) paths() []string {
	p := []string{r.files.CertFile, r.files.KeyFile}
	if r.files.ClientCAFile != "" {
		p = append(p, r.files.ClientCAFile)
	}
	return p
}

// current returns the configuration, rereading the files first if any
// changed. One stat per file per handshake is small next to the handshake.
func (r *tlsReloader) current() *tls.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, p := range r.paths() {
		st, err := filestamp.Of(p)
		if err == nil && st != r.stamps[i] {
			if err := r.reloadLocked(); err != nil {
				r.log.Warn("tls files changed but do not load; serving the previous certificate", "err", err)
			} else {
				r.log.Info("tls certificate reloaded", "cert", r.files.CertFile)
			}
			break
		}
	}
	return r.cfg
}

func (r *tlsReloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked()
}

// reloadLocked reads every file and swaps the configuration in only if
// all of them load. Stamps are taken before reading, so a file replaced
// during the read is seen as changed again next time.
func (r *tlsReloader) reloadLocked() error {
	var stamps []filestamp.Stamp
	for _, p := range r.paths() {
		st, err := filestamp.Of(p)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		stamps = append(stamps, st)
	}
	cert, err := tls.LoadX509KeyPair(r.files.CertFile, r.files.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: load certificate and key: %w", err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   r.nextProtos,
	}
	if r.files.ClientCAFile != "" {
		pem, err := os.ReadFile(r.files.ClientCAFile)
		if err != nil {
			return fmt.Errorf("tls: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls: client CA %s holds no PEM certificate", r.files.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if r.files.RequireClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	r.cfg, r.stamps = cfg, stamps
	return nil
}
