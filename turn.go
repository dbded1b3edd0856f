package parley

import (
	"crypto/hmac"
	"crypto/sha1" // #nosec G505 -- the TURN REST API's credential is HMAC-SHA1 by definition
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// ICEServer is one STUN or TURN server for a WebRTC peer connection, in the
// shape of the browser's RTCIceServer. TURN servers carry short-lived
// credentials (TURNCredentials).
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// ICEConfig is what a client needs to set up a call's peer connection: the
// servers, and when their credentials expire (zero when none carry any).
type ICEConfig struct {
	ICEServers []ICEServer `json:"ice_servers"`
	ExpiresAt  *time.Time  `json:"expires_at,omitempty"`
}

// TURNCredentials returns the credentials of the TURN REST API scheme
// (the one coturn's use-auth-secret implements): username is
// "<expiry unix seconds>:<userID>", password the base64 of
// HMAC-SHA1(secret, username). Any TURN server sharing secret accepts them
// until expires.
func TURNCredentials(secret, userID string, expires time.Time) (username, password string) {
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + userID
	return username, turnPassword(secret, username)
}

func turnPassword(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	_, _ = mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// CheckTURNUsername checks a TURN REST API username at now: it must be
// "<expiry>:<user>" (or a bare expiry) with the expiry not passed. It
// returns the password the username's holder must prove, and the user.
func CheckTURNUsername(secret, username string, now time.Time) (password, userID string, ok bool) {
	exp, user, _ := strings.Cut(username, ":")
	t, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || t < now.Unix() || len(username) > 256 {
		return "", "", false
	}
	return turnPassword(secret, username), user, true
}
