package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// registrationLabel is the label of a proof of possession (SignWithLabel,
// RFC 9420 §5.1.2) over a KeyToCertify.
const registrationLabel = "mlsengine delivery service certificate"

// KeyToCertify is what a client signs with the key it asks the delivery
// service to certify, as proof that it holds the key:
//
//	struct {
//	    opaque name<V>;
//	    uint16 cipher_suite;
//	    opaque signature_key<V>;
//	} KeyToCertify;
//
// signed with SignWithLabel(key, "mlsengine delivery service certificate",
// KeyToCertify).
type KeyToCertify struct {
	Name         string
	CipherSuite  suite.ID
	SignatureKey []byte
}

// MarshalMLS implements wire.Marshaler.
func (k *KeyToCertify) MarshalMLS(b *wire.Builder) {
	b.AddVector([]byte(k.Name))
	b.AddUint16(uint16(k.CipherSuite))
	b.AddVector(k.SignatureKey)
}

// CertificateRequest is the JSON body of a request for a certificate: at
// registration (with a name) or to certify a new key (POST
// /v1/clients/{name}/certificate).
type CertificateRequest struct {
	Name         string `json:"name,omitempty"`
	CipherSuite  uint16 `json:"cipher_suite,omitempty"`
	SignatureKey []byte `json:"signature_key,omitempty"` // base64 in JSON
	// Proof is the signature of the KeyToCertify by the key.
	Proof []byte `json:"proof,omitempty"`
}

// Certified is the response to a certificate request.
type Certified struct {
	// Certificates is the X.509 credential's chain: DER certificates,
	// end-entity first, issued by the root of GET /v1/ca.
	Certificates [][]byte `json:"certificates"`
}

// ProveKey returns the proof of possession of a CertificateRequest: name's
// signature key in suite cs, signed with signer (whose Public is the key).
func ProveKey(cs suite.ID, signer suite.Signer, name string) (CertificateRequest, error) {
	s, err := suite.Lookup(cs)
	if err != nil {
		return CertificateRequest{}, err
	}
	k := &KeyToCertify{Name: name, CipherSuite: cs, SignatureKey: signer.Public()}
	content, err := wire.Marshal(k)
	if err != nil {
		return CertificateRequest{}, err
	}
	proof, err := s.SignWithLabel(signer, registrationLabel, content)
	if err != nil {
		return CertificateRequest{}, err
	}
	return CertificateRequest{Name: name, CipherSuite: uint16(cs), SignatureKey: k.SignatureKey, Proof: proof}, nil
}

// readCertificateRequest decodes a CertificateRequest body strictly.
func readCertificateRequest(w http.ResponseWriter, r *http.Request) (*CertificateRequest, error) {
	_, body, err := readBody(w, r, 16<<10, "application/json")
	if err != nil {
		return nil, err
	}
	req := new(CertificateRequest)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil || dec.More() {
		return nil, malformed("request", `want {"name", "cipher_suite", "signature_key", "proof"}`)
	}
	return req, nil
}

// certify checks the proof of possession of a request for name and issues
// its certificate chain.
func (s *Server) certify(name string, req *CertificateRequest) ([][]byte, error) {
	cs := suite.ID(req.CipherSuite)
	st, err := s.cfg.Suites.Lookup(cs)
	if err != nil {
		return nil, &MalformedError{What: "cipher_suite", Err: err}
	}
	if err := st.CheckSignaturePublicKey(req.SignatureKey); err != nil {
		return nil, &MalformedError{What: "signature_key", Err: err}
	}
	content, err := wire.Marshal(&KeyToCertify{Name: name, CipherSuite: cs, SignatureKey: req.SignatureKey})
	if err != nil {
		return nil, &MalformedError{What: "request", Err: err}
	}
	if err := st.VerifyWithLabel(req.SignatureKey, registrationLabel, content, req.Proof); err != nil {
		return nil, malformed("proof", "not a signature of the KeyToCertify by signature_key")
	}
	chain, err := s.ca.certify(name, st, req.SignatureKey)
	if errors.Is(err, ErrUnsupportedKey) {
		return nil, &MalformedError{What: "signature_key", Err: err}
	}
	return chain, err
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if !s.limits.allowRegistration(r) {
		s.writeError(w, r, errRateLimited("registrations from this address"))
		return
	}
	req, err := readCertificateRequest(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !validClientName(req.Name) {
		s.writeError(w, r, malformed("client name", "want 1 to 64 of A-Z a-z 0-9 . _ - @ +"))
		return
	}
	// A name with a key is certified before it is taken, so that a bad
	// key costs nothing.
	var chain [][]byte
	if req.SignatureKey != nil || req.Proof != nil {
		if chain, err = s.certify(req.Name, req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	tok, hash := newToken()
	ctx, cancel := writeContext(r)
	defer cancel()
	if err := s.st.RegisterClient(ctx, req.Name, hash); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.certificates.Add(uint64(min(len(chain), 1)))
	writeJSON(w, http.StatusCreated, Registration{Name: req.Name, Token: tok, Certificates: chain})
}

// handleCertify certifies a new signature key of the caller (key
// rotation): POST /v1/clients/{name}/certificate, name being the caller's.
func (s *Server) handleCertify(w http.ResponseWriter, r *http.Request, caller string) {
	if r.PathValue("client") != caller {
		s.writeError(w, r, forbidden("a client certifies only its own keys"))
		return
	}
	req, err := readCertificateRequest(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Name != "" && req.Name != caller {
		s.writeError(w, r, malformed("request", "name differs from the client's"))
		return
	}
	chain, err := s.certify(caller, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.certificates.Add(1)
	writeJSON(w, http.StatusOK, Certified{Certificates: chain})
}

// handleCA serves the root certificate (DER) that clients pin.
func (s *Server) handleCA(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Header().Set("Mls-Fingerprint", Fingerprint(s.ca.rootDER))
	w.Write(s.ca.rootDER)
}
