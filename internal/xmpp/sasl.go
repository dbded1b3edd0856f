package xmpp

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

// maxSASLBytes bounds a decoded SASL message.
const maxSASLBytes = 2048

func decodeSASL(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "=" {
		return nil, nil
	}
	if len(s) > maxSASLBytes*4/3+4 {
		return nil, saslFailure("malformed-request", "SASL message too long")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, saslFailure("incorrect-encoding", "SASL data must be base64")
	}
	return b, nil
}

// plain runs SASL PLAIN (RFC 4616): authzid NUL authcid NUL password, only
// ever over TLS. It signs in with app.Login and returns the session token.
func (c *conn) plain(data string) (string, error) {
	b, err := decodeSASL(data)
	if err != nil {
		return "", err
	}
	parts := bytes.Split(b, []byte{0})
	if len(parts) != 3 {
		return "", saslFailure("malformed-request", "PLAIN needs authzid NUL authcid NUL password")
	}
	user := string(parts[1])
	if z := string(parts[0]); z != "" && !sameUser(z, user, c.s.cfg.Domain) {
		return "", saslFailure("invalid-authzid", "you may only act as yourself")
	}
	_, tok, err := c.s.app.Login(c.ctx, app.LoginInput{Username: user, Password: string(parts[2]),
		UserAgent: "XMPP", Address: c.addr})
	if err != nil {
		return "", saslFromError(err)
	}
	return tok, nil
}

// sameUser reports whether authzid (a bare JID or a username) names user.
func sameUser(authzid, user, domain string) bool {
	local, dom, ok := strings.Cut(authzid, "@")
	if ok && !strings.EqualFold(dom, domain) {
		return false
	}
	a, err1 := parley.CanonicalUsername(local)
	u, err2 := parley.CanonicalUsername(user)
	return err1 == nil && err2 == nil && a == u
}

// scram runs SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding.
// The proof is checked by app.FinishScram against the stored verifier.
// It returns the session token and the server-final-message.
func (c *conn) scram(data string) (string, []byte, error) {
	first, err := decodeSASL(data)
	if err != nil {
		return "", nil, err
	}
	// client-first-message = gs2-header client-first-message-bare
	msg := string(first)
	var gs2 string
	switch {
	case strings.HasPrefix(msg, "n,"), strings.HasPrefix(msg, "y,"):
	case strings.HasPrefix(msg, "p="):
		return "", nil, saslFailure("malformed-request", "channel binding is not offered (no -PLUS mechanism)")
	default:
		return "", nil, saslFailure("malformed-request", "bad GS2 header")
	}
	i := strings.IndexByte(msg[2:], ',')
	if i < 0 {
		return "", nil, saslFailure("malformed-request", "bad GS2 header")
	}
	authz := msg[2 : 2+i]
	gs2 = msg[:2+i+1]
	bare := msg[len(gs2):]
	attrs := scramAttrs(bare)
	user, cnonce := unescapeSCRAM(attrs["n"]), attrs["r"]
	if user == "" || cnonce == "" || strings.HasPrefix(bare, "m=") {
		return "", nil, saslFailure("malformed-request", "client-first-message needs n= and r=")
	}
	if authz != "" {
		if !strings.HasPrefix(authz, "a=") || !sameUser(unescapeSCRAM(authz[2:]), user, c.s.cfg.Domain) {
			return "", nil, saslFailure("invalid-authzid", "you may only act as yourself")
		}
	}
	login, err := c.s.app.BeginScram(c.ctx, user, c.addr)
	if err != nil {
		return "", nil, saslFromError(err)
	}
	nonce := cnonce + randomID()
	serverFirst := "r=" + nonce + ",s=" + base64.StdEncoding.EncodeToString(login.Salt) + ",i=" + strconv.Itoa(login.Iterations)
	var b xb
	b.elem("challenge", base64.StdEncoding.EncodeToString([]byte(serverFirst)), "xmlns", nsSASL)
	if err := c.writeNow(b.Bytes()); err != nil {
		return "", nil, err
	}
	el, err := c.r.next()
	if err != nil {
		return "", nil, err
	}
	if el.XMLName.Space != nsSASL || el.XMLName.Local != "response" {
		if el.XMLName.Local == "abort" {
			return "", nil, saslFailure("aborted", "")
		}
		return "", nil, saslFailure("malformed-request", "expected a SCRAM response")
	}
	final, err := decodeSASL(el.Text)
	if err != nil {
		return "", nil, err
	}
	fm := string(final)
	pi := strings.LastIndex(fm, ",p=")
	if pi < 0 {
		return "", nil, saslFailure("malformed-request", "client-final-message needs p=")
	}
	withoutProof := fm[:pi]
	fa := scramAttrs(withoutProof)
	if fa["c"] != base64.StdEncoding.EncodeToString([]byte(gs2)) {
		return "", nil, saslFailure("malformed-request", "channel binding data does not match the GS2 header")
	}
	if fa["r"] != nonce {
		return "", nil, saslFailure("malformed-request", "nonce mismatch")
	}
	proof, err := base64.StdEncoding.DecodeString(fm[pi+3:])
	if err != nil {
		return "", nil, saslFailure("incorrect-encoding", "proof must be base64")
	}
	authMessage := bare + "," + serverFirst + "," + withoutProof
	_, tok, sig, err := c.s.app.FinishScram(c.ctx, login, authMessage, proof, "XMPP")
	if err != nil {
		return "", nil, saslFromError(err)
	}
	return tok, []byte("v=" + base64.StdEncoding.EncodeToString(sig)), nil
}

// scramAttrs splits "k=v,k=v" (values may contain '=').
func scramAttrs(s string) map[string]string {
	m := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		if len(p) >= 2 && p[1] == '=' {
			if _, dup := m[p[:1]]; !dup {
				m[p[:1]] = p[2:]
			}
		}
	}
	return m
}

// unescapeSCRAM undoes RFC 5802's "=2C" and "=3D" in names.
func unescapeSCRAM(s string) string {
	return strings.NewReplacer("=2C", ",", "=3D", "=").Replace(s)
}
