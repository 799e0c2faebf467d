package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// Errors the authorizer returns; toStatus maps them to UNAUTHENTICATED and
// PERMISSION_DENIED. Messages never contain the token a client sent.
var (
	// ErrUnauthenticated reports a call without valid credentials.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrPermissionDenied reports a call its caller may not make, or a
	// mutating call while no authorization method is configured.
	ErrPermissionDenied = errors.New("permission denied")
)

// mutatingMethods are the full gRPC method names of calls that change what
// the server serves or records. They are refused unless an authorization
// method (bearer tokens or mTLS identities) is configured, and then need
// valid credentials. A service that adds a state-changing call adds its
// name here; every other method is a scoring or read call.
var mutatingMethods = map[string]bool{
	"/inference.GRPCInferenceService/RepositoryModelLoad":   true,
	"/inference.GRPCInferenceService/RepositoryModelUnload": true,
	"/inference.GRPCInferenceService/LogSettings":           true,
	// TraceSetting stores settings (aisle does not trace, but a client
	// can change what every other client reads back).
	"/inference.GRPCInferenceService/TraceSetting": true,
	"/aisle.v1.Events/RecordEvents":                true,
	"/aisle.v1.Events/RecordEventStream":           true,
	"/aisle.v1.Bandits/ResetBandit":                true,
}

// MutatingMethods returns the table above, sorted, for documentation and
// tests.
func MutatingMethods() []string {
	return slices.Sorted(maps.Keys(mutatingMethods))
}

// writesIfAllowed are scoring calls that also write, but only for callers
// a mutating call would accept: the auth interceptor authenticates their
// caller without refusing the call and hands the verdict down
// (callerMayWrite).
var writesIfAllowed = map[string]bool{
	"/aisle.v1.Personalization/Recommend": true, // impressions and bandit pulls
}

type mayWriteKey struct{}

// callerMayWrite reports whether the call's caller may make mutating
// calls: an authorization method is configured and the call carries a
// valid token or an allowed client certificate. The auth interceptor
// decided it, once per call; only methods in writesIfAllowed get true.
func callerMayWrite(ctx context.Context) bool {
	ok, _ := ctx.Value(mayWriteKey{}).(bool)
	return ok
}

// alwaysOpen are method prefixes that never need credentials: load
// balancers and Kubernetes probe health without any.
var alwaysOpen = []string{healthMethodPfx}

// AuthConfig configures who may call what.
type AuthConfig struct {
	// TokenFile holds the accepted bearer tokens, one per line; blank
	// lines and lines starting with '#' are ignored. The file is reread
	// when its modification time or size changes, so tokens rotate without
	// a restart. Empty: no bearer tokens.
	TokenFile string
	// AllowedClients lists the mTLS client identities allowed to make
	// mutating calls: a verified client certificate's subject common name
	// or any of its DNS, URI, e-mail or IP subject alternative names. Needs
	// TLS with a client CA. Empty: no mTLS identities.
	AllowedClients []string
	// Scoring requires the same credentials for scoring and read calls
	// (everything except health checks). Default false: those are open.
	Scoring bool
}

// Authorizer checks each call's credentials against an AuthConfig. It is
// safe for concurrent use.
type Authorizer struct {
	tokens  *tokenFile // nil when no token file is configured
	clients map[string]bool
	scoring bool
	log     *slog.Logger
}

// NewAuthorizer loads cfg's token file. A nil *Authorizer (or one built
// from an empty AuthConfig) refuses every mutating call and leaves the
// others open.
func NewAuthorizer(cfg AuthConfig, log *slog.Logger) (*Authorizer, error) {
	if log == nil {
		log = slog.Default()
	}
	a := &Authorizer{clients: map[string]bool{}, scoring: cfg.Scoring, log: log}
	for _, c := range cfg.AllowedClients {
		if c = strings.TrimSpace(c); c != "" {
			a.clients[c] = true
		}
	}
	if cfg.TokenFile != "" {
		tf, err := newTokenFile(cfg.TokenFile, log)
		if err != nil {
			return nil, err
		}
		a.tokens = tf
	}
	if cfg.Scoring && !a.configured() {
		return nil, errors.New("auth: requiring credentials for scoring calls needs a token file or allowed mTLS clients")
	}
	return a, nil
}

// configured reports whether any authorization method is set up.
func (a *Authorizer) configured() bool {
	return a != nil && (a.tokens != nil || len(a.clients) > 0)
}

// authorize decides whether the call to method (a full gRPC method name)
// with ctx's metadata and peer may proceed, with refusals bounding the
// "call refused" warnings per method and second (nil: every one). It also
// reports whether
// the caller authenticated: credentials are checked at most once per call,
// and only for calls that need them or are in writesIfAllowed.
func (a *Authorizer) authorize(ctx context.Context, method string, refusals *logBudget) (authenticated bool, err error) {
	for _, p := range alwaysOpen {
		if strings.HasPrefix(method, p) {
			return false, nil
		}
	}
	required := mutatingMethods[method] || (a != nil && a.scoring)
	if !required && !writesIfAllowed[method] {
		return false, nil
	}
	if !a.configured() {
		if !required {
			return false, nil
		}
		return false, fmt.Errorf("%w: %s changes server state and is disabled: no authorization is configured "+
			"(start aisle serve with --auth-token-file, or --tls-client-ca with --auth-allowed-clients)", ErrPermissionDenied, method)
	}
	id, certErr := a.clientIdentity(ctx)
	if id != "" {
		return true, nil
	}
	tokErr := a.checkToken(ctx)
	if tokErr == nil {
		return true, nil
	}
	if !required {
		return false, nil
	}
	if certErr != nil && errors.Is(tokErr, errNoToken) {
		a.logRefusal(ctx, method, certErr, refusals)
		return false, fmt.Errorf("%w: %s: %v", ErrPermissionDenied, method, certErr)
	}
	a.logRefusal(ctx, method, tokErr, refusals)
	return false, fmt.Errorf("%w: %s: %v", ErrUnauthenticated, method, tokErr)
}

// logRefusal writes the "call refused" warning if refusals lets it
// through; the first one after some were left out says how many.
func (a *Authorizer) logRefusal(ctx context.Context, method string, reason error, refusals *logBudget) {
	ok, skipped := refusals.take(method)
	if !ok {
		return
	}
	attrs := []slog.Attr{slog.String("method", method), slog.String("peer", peerAddr(ctx)), slog.String("reason", reason.Error())}
	if skipped > 0 {
		attrs = append(attrs, slog.Int("suppressed", skipped))
	}
	a.log.LogAttrs(ctx, slog.LevelWarn, "call refused", attrs...)
}

var errNoToken = errors.New(`credentials needed: send "authorization: Bearer <token>" or a client certificate`)

// checkToken accepts a bearer token listed in the token file.
func (a *Authorizer) checkToken(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return errNoToken
	}
	if a.tokens == nil {
		return errors.New("bearer tokens are not accepted by this server; use a client certificate")
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(tok) == "" {
		return errors.New(`the authorization metadata must read "Bearer <token>"`)
	}
	if !a.tokens.contains(strings.TrimSpace(tok)) {
		return errors.New("the bearer token is not valid")
	}
	return nil
}

// clientIdentity returns the first identity of the verified client
// certificate that the allowed list names. A certificate that verified but
// is not listed gives an error naming its subject.
func (a *Authorizer) clientIdentity(ctx context.Context) (string, error) {
	if len(a.clients) == 0 {
		return "", nil
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return "", nil
	}
	leaf := info.State.VerifiedChains[0][0]
	for _, id := range identities(leaf) {
		if a.clients[id] {
			return id, nil
		}
	}
	return "", fmt.Errorf("client certificate %q is not in the allowed clients", leaf.Subject.CommonName)
}

// identities lists the names a certificate vouches for.
func identities(c *x509.Certificate) []string {
	var ids []string
	if c.Subject.CommonName != "" {
		ids = append(ids, c.Subject.CommonName)
	}
	ids = append(ids, c.DNSNames...)
	ids = append(ids, c.EmailAddresses...)
	for _, u := range c.URIs {
		ids = append(ids, u.String())
	}
	for _, ip := range c.IPAddresses {
		ids = append(ids, ip.String())
	}
	return ids
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// unaryInterceptor checks every unary call; refusals bounds the
// "call refused" warnings (nil: every one).
func (a *Authorizer) unaryInterceptor(refusals *logBudget) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		authenticated, err := a.authorize(ctx, info.FullMethod, refusals)
		if err != nil {
			return nil, toStatus(err)
		}
		if authenticated && writesIfAllowed[info.FullMethod] {
			ctx = context.WithValue(ctx, mayWriteKey{}, true)
		}
		return h(ctx, req)
	}
}

// streamInterceptor checks every streaming call before its handler runs.
func (a *Authorizer) streamInterceptor(refusals *logBudget) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if _, err := a.authorize(ss.Context(), info.FullMethod, refusals); err != nil {
			return toStatus(err)
		}
		return h(srv, ss)
	}
}

// hashToken is what the token set stores and compares: fixed-length
// digests, so the comparison time depends on neither the token's length
// nor the position of the first differing byte.
func hashToken(tok string) [sha256.Size]byte { return sha256.Sum256([]byte(tok)) }

// containsHash compares h with every stored digest in constant time and
// without stopping at a match.
func containsHash(set [][sha256.Size]byte, h [sha256.Size]byte) bool {
	found := 0
	for i := range set {
		found |= subtle.ConstantTimeCompare(set[i][:], h[:])
	}
	return found == 1
}
