package app

import (
	"context"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// RegisterInput is a new account. DisplayName defaults to the username;
// Email is optional. UserAgent and Address describe the client, for the
// session list.
type RegisterInput struct {
	Username    string
	Password    string
	DisplayName string
	Email       string
	UserAgent   string
	Address     string
	// Invite is an invite code (needed when the policy is invite); Setup is
	// the one-time setup token that makes the first admin (registration.go).
	Invite string
	Setup  string
	// Org is the slug of the organisation to join ("": the invite's, or
	// the default organisation).
	Org string
}

// LoginInput is a sign-in attempt.
type LoginInput struct {
	Username  string
	Password  string
	UserAgent string
	Address   string
}

// ProfileUpdate changes the caller's profile; nil fields stay as they are.
type ProfileUpdate struct {
	DisplayName *string
	StatusText  *string
	Email       *string // "" removes the address
	Theme       *string // settings.theme
}

// SearchUsersInput is a username prefix search. Limit 0 means
// DefaultSearchLimit; more than MaxSearchLimit is refused.
type SearchUsersInput struct {
	Prefix string
	After  string // the last username of the previous page
	Limit  int
}

// Bounds of SearchUsers.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
)

// signedIn reports whether actor may read accounts: any signed-in user, or
// the operator.
func signedIn(actor parley.Actor) bool { return !actor.Anonymous() || actor.Admin() }

// view returns u as actor may see it: the email address only for the user
// themselves and for admins.
func view(actor parley.Actor, u parley.User) parley.User {
	if actor.UserID != u.ID && !actor.Admin() {
		u.Email = ""
	}
	return u
}

// Register creates an account and signs it in, if the registration policy
// admits it (registration.go): with a valid setup token the account is an
// admin, otherwise a user. Errors: CodeInvalid/CodeTooLarge naming the field
// (username, password, display_name, email, invite, setup), CodeForbidden
// when the policy refuses (field registration: closed; field invite: missing,
// unknown, expired, revoked or used-up invite; field setup: bad or spent
// setup token), CodeConflict (field username) if the username is taken in any
// letter case, CodeRateLimited (with RetryAfter) beyond
// Limits.SignupsPerAddr per SignupWindow from one address or if the server
// is too busy hashing.
func (a *App) Register(ctx context.Context, in RegisterInput) (parley.User, string, error) {
	res, err := a.RegisterSignIn(ctx, in)
	if err == nil && res.Challenge != nil {
		return parley.User{}, "", errSecondFactorNeeded()
	}
	return res.User, res.Token, err
}

// RegisterSignIn is Register that, on a server requiring two-factor
// sign-in, answers with a setup Challenge instead of a session.
func (a *App) RegisterSignIn(ctx context.Context, in RegisterInput) (SignInResult, error) {
	if err := checkRegister(in); err != nil {
		return SignInResult{}, err
	}
	if a.mail.o.Verification == parley.EmailVerificationRequired && strings.TrimSpace(in.Email) == "" && in.Setup == "" {
		return SignInResult{}, parley.Invalid("email", "an email address is required to sign up here")
	}
	if err := a.reserveSignup(in.Address); err != nil {
		return SignInResult{}, err
	}
	role, org, undo, err := a.admit(ctx, in)
	if err != nil {
		return SignInResult{}, err
	}
	u, err := a.createUser(ctx, in, role, org)
	if err != nil {
		undo()
		return SignInResult{}, err
	}
	if role == parley.UserRoleAdmin {
		a.dropSetup()
		a.audit(ctx, parley.Actor{UserID: u.ID, Role: role}, "user.create_first_admin", u.ID, u.Username, "with the setup token")
	}
	a.log.Info("account registered", "user_id", u.ID, "username", u.Username, "role", u.Role,
		"address", in.Address, "invite", in.Invite != "")
	a.afterEmailSet(ctx, u)
	if must, err := a.mustVerifyFirst(ctx, u); err != nil || must {
		return SignInResult{User: u}, err // no session before the address is proved (email.go)
	}
	return a.startSession(ctx, u, in.UserAgent, in.Address)
}

// createUser validates in and stores a new account with the given role.
func (a *App) createUser(ctx context.Context, in RegisterInput, role parley.UserRole, org parley.Organisation) (parley.User, error) {
	name, err := parley.CanonicalUsername(in.Username)
	if err != nil {
		return parley.User{}, err
	}
	if err := parley.CheckPassword("password", in.Password); err != nil {
		return parley.User{}, err
	}
	display := name
	if in.DisplayName != "" {
		if display, err = parley.CleanDisplayName(in.DisplayName); err != nil {
			return parley.User{}, err
		}
	}
	email, err := parley.CleanEmail(in.Email)
	if err != nil {
		return parley.User{}, err
	}
	// Cheap check first so a taken name costs no hashing (the insert below
	// still decides races).
	if _, err := a.store.UserByUsername(ctx, name); err == nil {
		return parley.User{}, usernameTaken()
	} else if !parley.IsCode(err, parley.CodeNotFound) {
		return parley.User{}, err
	}
	n, err := a.store.CountOrgUsers(ctx, org.ID)
	if err != nil {
		return parley.User{}, err
	}
	if err := org.AdmitOrgUser(n); err != nil {
		return parley.User{}, err
	}
	hash, err := a.acct.pw.hash(ctx, in.Password)
	if err != nil {
		return parley.User{}, err
	}
	now := a.now().UTC().Truncate(time.Millisecond)
	u := parley.User{
		ID:          parley.NewID(),
		Username:    name,
		DisplayName: display,
		Email:       email,
		Role:        role,
		Settings:    parley.DefaultUserSettings(),
		CreatedAt:   now,
		UpdatedAt:   now,
		Org:         org.ID,
	}
	if err := a.store.CreateUser(ctx, u, hash); err != nil {
		if parley.IsCode(err, parley.CodeConflict) {
			return parley.User{}, usernameTaken()
		}
		return parley.User{}, err
	}
	a.saveScram(ctx, u.ID, hash, in.Password)
	return u, nil
}

func usernameTaken() error {
	return &parley.Error{Code: parley.CodeConflict, Field: "username", Message: "that username is taken"}
}

// errBadCredentials is the one answer to an unknown username and a wrong
// password alike, so sign-in does not reveal which accounts exist.
func errBadCredentials() error {
	return unauthenticated("wrong username or password")
}

// Login signs a user in with username and password, creating a session.
//
// An unknown username and a wrong password give the same CodeUnauthenticated
// error after the same work (an unknown username is checked against a dummy
// hash). Failed attempts are counted per account and per client address
// (Limits.LoginFailuresPerUser/PerAddr per LoginWindow); beyond either the
// answer is CodeRateLimited with RetryAfter, without checking the password.
// A correct password for a disabled account gives CodeForbidden.
//
// An account with two-factor sign-in (or any account, on a server that
// requires it) cannot sign in with a password alone: Login answers
// CodeUnauthenticated for it after a correct password. Gateways that only
// have a password (XMPP PLAIN, MQTT) use Login; the REST API uses SignIn.
// Login also takes an app password (apppassword.go) in place of the
// account password.
func (a *App) Login(ctx context.Context, in LoginInput) (parley.User, string, error) {
	if u, tok, ok, err := a.appPasswordSignIn(ctx, in); ok {
		return u, tok, err
	}
	res, err := a.SignIn(ctx, in)
	if err == nil && res.Challenge != nil {
		// Nobody can answer this challenge here; drop it.
		_ = a.store.DeleteLoginChallenge(context.WithoutCancel(ctx), hashToken(res.Challenge.Token))
		return parley.User{}, "", errSecondFactorNeeded()
	}
	return res.User, res.Token, err
}

// SignIn is Login that answers a correct password for an account with (or
// needing) two-factor sign-in with a Challenge for FinishSignIn instead of
// a session.
func (a *App) SignIn(ctx context.Context, in LoginInput) (SignInResult, error) {
	if in.Username == "" {
		return SignInResult{}, parley.Invalid("username", "username is required")
	}
	if in.Password == "" {
		return SignInResult{}, parley.Invalid("password", "password is required")
	}
	if len(in.Password) > parley.PasswordMaxLen {
		return SignInResult{}, parley.TooLarge("password", "password must be at most %d bytes", parley.PasswordMaxLen)
	}
	name, err := parley.CanonicalUsername(in.Username)
	if err != nil {
		return SignInResult{}, err
	}
	userKey, addrKey := name, in.Address
	refund, err := a.reserveAttempt(userKey, addrKey)
	if err != nil {
		return SignInResult{}, err
	}
	u, err := a.store.UserByUsername(ctx, name)
	if parley.IsCode(err, parley.CodeNotFound) {
		if err := a.acct.pw.verifyDummy(ctx, in.Password); err != nil {
			refund(true, true)
			return SignInResult{}, err
		}
		a.log.Info("sign-in failed", "username", name, "address", in.Address, "reason", "unknown user")
		return SignInResult{}, errBadCredentials()
	}
	if err != nil {
		refund(true, true)
		return SignInResult{}, err
	}
	if u.Bot() {
		// Bots have no password: answer as for a wrong one, after the same work.
		if err := a.acct.pw.verifyDummy(ctx, in.Password); err != nil {
			refund(true, true)
			return SignInResult{}, err
		}
		a.log.Info("sign-in failed", "username", name, "user_id", u.ID, "address", in.Address, "reason", "bot account")
		return SignInResult{}, errBadCredentials()
	}
	hash, err := a.store.PasswordHash(ctx, u.ID)
	if err != nil {
		refund(true, true)
		return SignInResult{}, err
	}
	ok, rehash, err := a.acct.pw.verify(ctx, in.Password, hash)
	if err != nil {
		refund(true, true)
		return SignInResult{}, err
	}
	if !ok {
		a.log.Info("sign-in failed", "username", name, "user_id", u.ID, "address", in.Address, "reason", "wrong password")
		return SignInResult{}, errBadCredentials()
	}
	// The right password: not a failed attempt. It clears the account's
	// failures (unless a second factor is still due: wrong codes must keep
	// counting); the address keeps its count of other failures.
	if u.TwoFactor || a.twoFactorRequired(ctx, u) {
		refund(true, true)
	} else {
		a.acct.loginUser.Reset(userKey)
		refund(false, true)
	}
	if u.Disabled {
		a.log.Info("sign-in failed", "username", name, "user_id", u.ID, "address", in.Address, "reason", "account disabled")
		return SignInResult{}, parley.Errorf(parley.CodeForbidden, "this account is disabled")
	}
	if must, err := a.mustVerifyFirst(ctx, u); err != nil {
		return SignInResult{}, err
	} else if must {
		return SignInResult{}, errVerifyFirst()
	}
	if rehash {
		hash = a.upgradeHash(ctx, u.ID, in.Password, hash)
	}
	a.ensureScram(ctx, u.ID, hash, in.Password)
	res, err := a.startSession(ctx, u, in.UserAgent, in.Address)
	if err != nil {
		return SignInResult{}, err
	}
	if res.Challenge != nil {
		a.log.Info("sign-in: password right, second factor due", "username", name, "user_id", u.ID,
			"address", in.Address, "challenge", res.Challenge.Kind)
	} else {
		a.log.Info("sign-in", "username", name, "user_id", u.ID, "address", in.Address)
	}
	return res, nil
}

// reserveAttempt takes one attempt from the account's and the address's
// sign-in budgets before the password is checked, so that concurrent guesses
// cannot overshoot the limits; CodeRateLimited with RetryAfter when either is
// spent. The caller gives back (refund) what did not turn out to be a failure.
func (a *App) reserveAttempt(userKey, addrKey string) (refund func(user, addr bool), err error) {
	limited := func(wait time.Duration) error {
		return &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait,
			Message: "too many failed sign-ins; wait before trying again"}
	}
	if ok, wait := a.acct.loginUser.Allow(userKey); !ok {
		a.log.Warn("sign-in locked out", "username", userKey, "address", addrKey, "scope", "account",
			"retry_after_s", int(wait.Seconds()+0.5))
		return nil, limited(wait)
	}
	if ok, wait := a.acct.loginAddr.Allow(addrKey); !ok {
		a.acct.loginUser.Give(userKey, 1)
		a.log.Warn("sign-in locked out", "username", userKey, "address", addrKey, "scope", "address",
			"retry_after_s", int(wait.Seconds()+0.5))
		return nil, limited(wait)
	}
	return func(user, addr bool) {
		if user {
			a.acct.loginUser.Give(userKey, 1)
		}
		if addr {
			a.acct.loginAddr.Give(addrKey, 1)
		}
	}, nil
}

// upgradeHash rehashes a password made with older parameters and returns
// the hash now stored. Failure is logged only: the old hash still works.
func (a *App) upgradeHash(ctx context.Context, userID, password, old string) string {
	h, err := a.acct.pw.hash(ctx, password)
	if err == nil {
		err = a.store.SetPasswordHash(ctx, userID, h)
	}
	if err != nil {
		a.log.Warn("upgrade password hash", "user_id", userID, "err", err)
		return old
	}
	return h
}

// Me returns the caller's own account, email included.
func (a *App) Me(ctx context.Context, actor parley.Actor) (parley.User, error) {
	if actor.Anonymous() {
		return parley.User{}, unauthenticated("sign in first")
	}
	return a.store.User(ctx, actor.UserID)
}

// UpdateMe changes the caller's profile and settings and returns the result.
// Errors name the field: display_name, status_text, email, settings.theme.
// Nothing is written unless every field is valid.
func (a *App) UpdateMe(ctx context.Context, actor parley.Actor, in ProfileUpdate) (parley.User, error) {
	if actor.Anonymous() {
		return parley.User{}, unauthenticated("sign in first")
	}
	u, err := a.store.User(ctx, actor.UserID)
	if err != nil {
		return parley.User{}, err
	}
	if in.DisplayName != nil {
		if u.DisplayName, err = parley.CleanDisplayName(*in.DisplayName); err != nil {
			return parley.User{}, err
		}
	}
	if in.StatusText != nil {
		if u.StatusText, err = parley.CleanStatusText(*in.StatusText); err != nil {
			return parley.User{}, err
		}
	}
	oldEmail := u.Email
	if in.Email != nil {
		if u.Email, err = parley.CleanEmail(*in.Email); err != nil {
			return parley.User{}, err
		}
	}
	if in.Theme != nil {
		u.Settings.Theme = *in.Theme
		if err := u.Settings.Validate(); err != nil {
			return parley.User{}, err
		}
	}
	u.UpdatedAt = a.now().UTC().Truncate(time.Millisecond)
	if err := a.store.UpdateUser(ctx, u); err != nil {
		return parley.User{}, err
	}
	if u.Email != oldEmail {
		a.afterEmailSet(ctx, u)
	}
	return u, nil
}

// ChangePassword replaces the caller's password after checking the current
// one, then ends every other session of the caller (publishing
// EventSessionRevoked for them) and revokes its app passwords; the current
// session stays signed in.
// A wrong current password is CodeInvalid (field current_password) and counts
// as a failed sign-in for rate limiting (CodeRateLimited beyond the limit).
func (a *App) ChangePassword(ctx context.Context, actor parley.Actor, current, next string) error {
	if actor.Anonymous() {
		return unauthenticated("sign in first")
	}
	if current == "" {
		return parley.Invalid("current_password", "current_password is required")
	}
	if len(current) > parley.PasswordMaxLen {
		return parley.Invalid("current_password", "current password is wrong")
	}
	if err := parley.CheckPassword("new_password", next); err != nil {
		return err
	}
	u, err := a.store.User(ctx, actor.UserID)
	if err != nil {
		return err
	}
	// Reserve a guess from the account's sign-in budget, as Login does.
	if ok, wait := a.acct.loginUser.Allow(u.Username); !ok {
		return &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait,
			Message: "too many wrong passwords; wait before trying again"}
	}
	old, err := a.store.PasswordHash(ctx, u.ID)
	if err != nil {
		a.acct.loginUser.Give(u.Username, 1)
		return err
	}
	ok, _, err := a.acct.pw.verify(ctx, current, old)
	if err != nil {
		a.acct.loginUser.Give(u.Username, 1)
		return err
	}
	if !ok {
		return parley.Invalid("current_password", "current password is wrong")
	}
	a.acct.loginUser.Give(u.Username, 1)
	h, err := a.acct.pw.hash(ctx, next)
	if err != nil {
		return err
	}
	if err := a.store.SetPasswordHash(ctx, u.ID, h); err != nil {
		return err
	}
	a.saveScram(ctx, u.ID, h, next)
	ended, err := a.store.DeleteUserSessions(ctx, u.ID, actor.SessionID)
	if err != nil {
		return err
	}
	a.publishRevoked(ctx, nil, ended, "password_changed")
	a.dropAppPasswords(ctx, u.ID)
	return nil
}

// User returns one account as the caller may see it (disabled accounts
// included, so old messages can still show their author). CodeInvalid for a
// malformed id (field id), CodeNotFound if there is no such user.
func (a *App) User(ctx context.Context, actor parley.Actor, id string) (parley.User, error) {
	if !signedIn(actor) {
		return parley.User{}, unauthenticated("sign in first")
	}
	if !parley.ValidID(id) {
		return parley.User{}, parley.Invalid("id", "not a valid user id")
	}
	u, err := a.store.User(ctx, id)
	if err != nil {
		return parley.User{}, err
	}
	if !actor.Admin() && !parley.SameOrg(actor.Org, u.Org) {
		return parley.User{}, parley.ErrOtherOrg("user")
	}
	return view(actor, u), nil
}

// UsersByID returns the users with the given ids that exist, in the order of
// ids, each once, as the caller may see them; unknown and malformed ids are
// skipped, and so are users of other organisations (except for server
// admins). It is for other use cases and transports embedding users.
func (a *App) UsersByID(ctx context.Context, actor parley.Actor, ids []string) ([]parley.User, error) {
	if !signedIn(actor) {
		return nil, unauthenticated("sign in first")
	}
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if parley.ValidID(id) {
			valid = append(valid, id)
		}
	}
	found, err := a.store.Users(ctx, valid)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]parley.User, len(found))
	for _, u := range found {
		if actor.Admin() || parley.SameOrg(actor.Org, u.Org) {
			byID[u.ID] = u
		}
	}
	out := make([]parley.User, 0, len(found))
	for _, id := range valid {
		if u, ok := byID[id]; ok {
			out = append(out, view(actor, u))
			delete(byID, id)
		}
	}
	return out, nil
}

// MaxLookupIDs bounds one LookupUsers call (GET /users?ids=…).
const MaxLookupIDs = 100

// LookupUsers returns the users with the given ids, in the order of ids,
// each once, seen as GET /users/{id} shows them; unknown ids are simply
// absent. Errors: unauthenticated; invalid naming "ids" for an empty list,
// a malformed id or more than MaxLookupIDs ids.
func (a *App) LookupUsers(ctx context.Context, actor parley.Actor, ids []string) ([]parley.User, error) {
	if !signedIn(actor) {
		return nil, unauthenticated("sign in first")
	}
	if len(ids) == 0 {
		return nil, parley.Invalid("ids", "ids must list at least one user id")
	}
	if len(ids) > MaxLookupIDs {
		return nil, parley.Invalid("ids", "ids must list at most %d user ids (got %d)", MaxLookupIDs, len(ids))
	}
	for i, id := range ids {
		if !parley.ValidID(id) {
			return nil, parley.Invalid("ids", "ids[%d] is not a valid user id", i)
		}
	}
	return a.UsersByID(ctx, actor, ids)
}

// SearchUsers finds enabled users by username prefix, ordered by username,
// at most Limit of them, and returns the cursor for the next page ("" when
// there is none). Errors: CodeInvalid naming prefix, after or limit.
func (a *App) SearchUsers(ctx context.Context, actor parley.Actor, in SearchUsersInput) ([]parley.User, string, error) {
	if !signedIn(actor) {
		return nil, "", unauthenticated("sign in first")
	}
	users, next, err := usernamePage(ctx, in, func(ctx context.Context, prefix, after string, n int) ([]parley.User, error) {
		return a.store.SearchUsers(ctx, actor.Org, prefix, after, n)
	})
	if err != nil {
		return nil, "", err
	}
	for i := range users {
		users[i] = view(actor, users[i])
	}
	return users, next, nil
}

// usernamePage validates a page request by username prefix and fetches it
// with fetch (asked for one more than the limit, to know whether a next page
// exists). It returns the page and the cursor of the next one ("" on the
// last). Errors: CodeInvalid naming prefix, after or limit; fetch's.
func usernamePage(ctx context.Context, in SearchUsersInput,
	fetch func(ctx context.Context, prefix, after string, n int) ([]parley.User, error)) ([]parley.User, string, error) {
	prefix, err := parley.UsernamePrefix(in.Prefix)
	if err != nil {
		return nil, "", err
	}
	after, err := parley.UsernamePrefix(in.After)
	if err != nil {
		return nil, "", parley.Invalid("after", "after must be a username from the previous page")
	}
	limit := in.Limit
	if limit == 0 {
		limit = DefaultSearchLimit
	}
	if limit < 1 || limit > MaxSearchLimit {
		return nil, "", parley.Invalid("limit", "limit must be between 1 and %d", MaxSearchLimit)
	}
	users, err := fetch(ctx, prefix, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = users[limit-1].Username
	}
	return users, next, nil
}
