package delivery

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/mlsengine/engine/delivery/store"
)

// tokenPrefix starts every bearer token the server issues.
const tokenPrefix = "mlsds_"

// maxTokenLen bounds the Authorization header the server looks at.
const maxTokenLen = 128

// newToken returns a fresh bearer token and the hash the store keeps.
func newToken() (string, []byte) {
	var b [32]byte
	rand.Read(b[:])
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(tok))
	return tok, h[:]
}

// validClientName reports whether name may be a client name: 1 to 64
// characters from A-Z a-z 0-9 . _ - @ +, so that it can appear in a URL path
// unescaped.
func validClientName(name string) bool {
	if name == "" || len(name) > store.MaxClientNameLen {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '-', c == '@', c == '+':
		default:
			return false
		}
	}
	return true
}

// tokenCache remembers token hashes the store confirmed. Tokens are never
// revoked, so an entry stays valid; the cache is emptied when full.
type tokenCache struct {
	mu    sync.Mutex
	names map[[32]byte]string
}

const tokenCacheSize = 10000

func (c *tokenCache) get(h [32]byte) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name, ok := c.names[h]
	return name, ok
}

func (c *tokenCache) put(h [32]byte, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.names == nil || len(c.names) >= tokenCacheSize {
		c.names = make(map[[32]byte]string)
	}
	c.names[h] = name
}

// caller returns the authenticated client name of a request: from the
// embedding backend's Authenticate function if configured, else from the
// bearer token.
func (s *Server) caller(r *http.Request) (string, error) {
	if s.cfg.Authenticate != nil {
		name, err := s.cfg.Authenticate(r)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrUnauthorized, err)
		}
		if !validClientName(name) {
			return "", fmt.Errorf("%w: Authenticate returned an invalid client name", ErrUnauthorized)
		}
		return name, nil
	}
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(tok) > maxTokenLen || !strings.HasPrefix(tok, tokenPrefix) {
		return "", fmt.Errorf("%w: want an Authorization header of the form Bearer %sTOKEN", ErrUnauthorized, tokenPrefix)
	}
	h := sha256.Sum256([]byte(tok))
	if name, ok := s.tokens.get(h); ok {
		return name, nil
	}
	name, err := s.st.ClientByToken(r.Context(), h[:])
	if errors.Is(err, store.ErrUnknownClient) {
		return "", fmt.Errorf("%w: unknown token", ErrUnauthorized)
	}
	if err != nil {
		return "", err
	}
	s.tokens.put(h, name)
	return name, nil
}

// authenticated wraps a handler that needs the caller's name.
func (s *Server) authenticated(h func(w http.ResponseWriter, r *http.Request, caller string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, err := s.caller(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r, name)
	}
}
