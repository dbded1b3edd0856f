package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/parley-chat/parley"
)

// TwoFactorRequired is the error of Login and Register when the password
// was right but a second step is due. Kind "verify": call FinishSignIn with
// a code from the authenticator app (or a recovery code). Kind "setup": the
// server requires two-factor sign-in; call SetupSignIn, add the secret to an
// app, then FinishSignIn with its first code.
type TwoFactorRequired struct {
	Kind      string    `json:"two_factor"`
	Challenge string    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (e *TwoFactorRequired) Error() string {
	if e.Kind == "setup" {
		return "the server requires two-factor sign-in: set it up to sign in"
	}
	return "two-factor sign-in: a code is required"
}

// TwoFactorEnrolment is a new TOTP secret: Secret (base32) to type into an
// authenticator app, URI (otpauth://) and QR (the URI as a PNG data: URL).
type TwoFactorEnrolment struct {
	Secret string `json:"secret"`
	URI    string `json:"uri"`
	QR     string `json:"qr"`
}

// TwoFactorStatus is the signed-in user's two-factor state.
type TwoFactorStatus struct {
	Enabled           bool `json:"enabled"`
	Pending           bool `json:"pending"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
	Required          bool `json:"required"`
}

// SignInResponse is a finished two-step sign-in. RecoveryCodes is set once,
// after a setup.
type SignInResponse struct {
	User          parley.User `json:"user"`
	Token         string      `json:"token"`
	RecoveryCodes []string    `json:"recovery_codes,omitempty"`
}

// signIn posts a register or login request and keeps the token, or returns
// *TwoFactorRequired.
func (c *Client) signIn(ctx context.Context, path string, in any) (AuthResponse, error) {
	var out struct {
		AuthResponse
		TwoFactorRequired
	}
	if _, err := c.do(ctx, http.MethodPost, path, nil, in, &out); err != nil {
		return AuthResponse{}, err
	}
	if out.Challenge != "" {
		tf := out.TwoFactorRequired
		return AuthResponse{}, &tf
	}
	if out.Token == "" {
		return AuthResponse{}, parley.Errorf(parley.CodeInternal, "sign-in answer has neither a token nor a challenge")
	}
	c.SetToken(out.Token)
	return out.AuthResponse, nil
}

// FinishSignIn is the second step of a sign-in: the challenge from a
// *TwoFactorRequired and a code (a recovery code too, for Kind "verify").
// It keeps the new token. A wrong code is CodeUnauthenticated with Field
// "code"; a spent or expired challenge, Field "challenge".
func (c *Client) FinishSignIn(ctx context.Context, challenge, code string) (SignInResponse, error) {
	var out SignInResponse
	in := map[string]string{"challenge": challenge, "code": code}
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/auth/login/2fa", nil, in, &out); err != nil {
		return SignInResponse{}, err
	}
	c.SetToken(out.Token)
	return out, nil
}

// SetupSignIn starts enrolment for a challenge of Kind "setup".
func (c *Client) SetupSignIn(ctx context.Context, challenge string) (TwoFactorEnrolment, error) {
	var out TwoFactorEnrolment
	_, err := c.do(ctx, http.MethodPost, "/api/v1/auth/login/2fa/setup", nil, map[string]string{"challenge": challenge}, &out)
	return out, err
}

// TwoFactorStatus returns the signed-in user's two-factor state.
func (c *Client) TwoFactorStatus(ctx context.Context) (TwoFactorStatus, error) {
	var out TwoFactorStatus
	_, err := c.do(ctx, http.MethodGet, "/api/v1/me/2fa", nil, nil, &out)
	return out, err
}

// BeginTwoFactor starts turning on two-factor sign-in (needs the password).
func (c *Client) BeginTwoFactor(ctx context.Context, password string) (TwoFactorEnrolment, error) {
	var out TwoFactorEnrolment
	_, err := c.do(ctx, http.MethodPost, "/api/v1/me/2fa/setup", nil, map[string]string{"password": password}, &out)
	return out, err
}

// ConfirmTwoFactor turns it on with a first code and returns the recovery codes.
func (c *Client) ConfirmTwoFactor(ctx context.Context, code string) ([]string, error) {
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/me/2fa/confirm", nil, map[string]string{"code": code}, &out)
	return out.RecoveryCodes, err
}

// DisableTwoFactor turns it off (password and a code or recovery code).
func (c *Client) DisableTwoFactor(ctx context.Context, password, code string) error {
	_, err := c.do(ctx, http.MethodPost, "/api/v1/me/2fa/disable", nil,
		map[string]string{"password": password, "code": code}, nil)
	return err
}

// RegenerateRecoveryCodes replaces the recovery codes (password and a code).
func (c *Client) RegenerateRecoveryCodes(ctx context.Context, password, code string) ([]string, error) {
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/me/2fa/recovery-codes", nil,
		map[string]string{"password": password, "code": code}, &out)
	return out.RecoveryCodes, err
}

// ResetTwoFactor removes a user's two-factor sign-in (admins only).
func (c *Client) ResetTwoFactor(ctx context.Context, userID string) (parley.User, error) {
	var u parley.User
	_, err := c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/admin/users/%s/2fa/reset", url.PathEscape(userID)), nil, nil, &u)
	return u, err
}

// AppPasswords lists the signed-in user's app passwords, newest first.
func (c *Client) AppPasswords(ctx context.Context) ([]parley.AppPassword, error) {
	var out struct {
		AppPasswords []parley.AppPassword `json:"app_passwords"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/me/app-passwords", nil, nil, &out)
	return out.AppPasswords, err
}

// CreateAppPassword makes an app password named name (needs the account
// password) and returns it with the password, shown this once.
func (c *Client) CreateAppPassword(ctx context.Context, name, password string) (parley.AppPassword, string, error) {
	var out struct {
		AppPassword parley.AppPassword `json:"app_password"`
		Password    string             `json:"password"`
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/me/app-passwords", nil,
		map[string]string{"name": name, "password": password}, &out)
	return out.AppPassword, out.Password, err
}

// RevokeAppPassword deletes one of the signed-in user's app passwords.
func (c *Client) RevokeAppPassword(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/me/app-passwords/"+url.PathEscape(id), nil, nil, nil)
	return err
}
