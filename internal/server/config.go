package server

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/sqlite"
)

// Config is every setting of `parley serve`. Values come from Default, then
// PARLEY_* environment variables, then command-line flags; Validate checks
// the result once and components receive copies of what they need.
type Config struct {
	Addr           string        // HTTP listen address
	DataDir        string        // SQLite database, blobs and keys
	DB             string        // PostgreSQL URL; empty means embedded SQLite in DataDir
	NATS           string        // NATS URL; empty means the in-process bus (single node)
	MQTT           string        // MQTT listen address; empty: no MQTT gateway (docs/mqtt.md)
	LogLevel       string        // debug, info, warn, error
	LogFormat      string        // text or json
	AllowedOrigins []string      // WebSocket Origin allow-list; empty: same host only
	TrustProxy     bool          // use X-Forwarded-For for client addresses
	MaxBodyBytes   int64         // REST request body cap
	MaxMessage     int           // message body limit in characters
	SessionTTL     time.Duration // idle session lifetime
	ShutdownGrace  time.Duration // time in-flight requests get on shutdown
	Pprof          string        // if set, serve net/http/pprof on this address
	SendRate       float64       // messages per second each user may send, sustained (bursts of twice that)
	WSFrameRate    float64       // frames per second each WebSocket connection may send, sustained (bursts of twice that)
	CommitLinger   time.Duration // both stores: longest wait for more writes to commit together; 0 never waits
	MaxReactions   int           // distinct emoji on one message
	MaxMembers     int           // members of one group or channel
	Registration   string        // open, invite or closed (docs/accounts.md)
	SignupsPerHour int           // accounts one client address may register per hour; 0: no limit
	Require2FA     bool          // every account must use two-factor sign-in (docs/twofactor.md)

	// Outgoing webhooks (docs/bots.md).
	WebhooksAllowPrivate bool          // let webhook URLs reach loopback and private addresses
	WebhookRetryBase     time.Duration // first retry delay (no flag: tests shorten it); 0: 10 s
	WebhookMaxAttempts   int           // attempts per delivery (no flag); 0: 8
	RetentionEvery       time.Duration // how often retention policies run (no flag); 0: hourly

	// Files and media (docs/media.md).
	MaxFileBytes   int64         // one uploaded file
	UserQuotaBytes int64         // stored files (and avatars) per user
	FileTypesAllow []string      // media type patterns accepted (empty: all)
	FileTypesDeny  []string      // media type patterns refused
	BlobKey        string        // 32-byte key (hex/base64) sealing stored files; empty: <data-dir>/blob.key
	MediaGrace     time.Duration // unsent files and unreferenced blobs are swept after this
	S3Endpoint     string        // http(s)://host[:port] of an S3-compatible store; empty: files under <data-dir>/blobs
	S3Bucket       string
	S3Region       string
	S3AccessKey    string
	S3SecretKey    string
	S3Prefix       string

	// TLS without a proxy (tls.go): certificate files, or ACME.
	TLSCert, TLSKey  string   // PEM files
	ACMEDomains      []string // names to get certificates for
	ACMEEmail        string
	ACMEDir          string // certificate cache; empty: <data-dir>/acme
	ACMEDirectory    string // ACME directory URL; empty: Let's Encrypt
	HTTPRedirectAddr string // plain-HTTP listener redirecting to HTTPS (and answering HTTP-01)
	// PublicURL is where people and clients reach the server when that is
	// not the listener (behind a reverse proxy): links the server hands out
	// (the setup link, XMPP file links) start with it. Empty: derived.
	PublicURL string

	// XMPP gateway (docs/xmpp.md); off while XMPP is empty.
	XMPP        string // c2s listen address
	XMPPDomain  string // JIDs are username@XMPPDomain; empty: the host name
	XMPPTLSCert string // PEM certificate for STARTTLS; empty: self-signed in DataDir
	XMPPTLSKey  string

	// Calls (docs/calls.md): the embedded TURN/STUN server (off while TURN
	// is empty) and external STUN/TURN servers.
	TURN         string        // embedded TURN/STUN UDP+TCP listen address, e.g. :3478
	TURNPublicIP string        // the IP relays are announced at; default: TURN's host if it names one
	TURNRealm    string        // default "parley"
	TURNSecret   string        // HMAC secret of TURN credentials; default: random per process (embedded TURN only)
	TURNTTL      time.Duration // lifetime of the credentials handed out
	ICEURLs      []string      // external stun:/turn:/turns: URLs handed to clients
	// Notifications (docs/notifications.md).
	NotifyPoll        time.Duration // how often the notification queue is read when nothing woke the notifier
	WebPush           bool          // send Web Push (VAPID keys kept in the store)
	VAPIDSubject      string        // mailto: or https: contact given to push services
	PushSubsPerUser   int           // Web Push subscriptions per user (the oldest go beyond it)
	PushAllowInsecure bool          // admit http and private/loopback push endpoints (tests only)
	EmailVerification string        // off, optional or required
	SMTPHost          string        // empty: emails are written to the log
	SMTPPort          int           // 587
	SMTPUsername      string        //
	SMTPPassword      string        //
	SMTPFrom          string        // From of every email
	SMTPTLS           string        // starttls, tls or none
	EmailDigestAfter  time.Duration // email missed mentions after this long; 0: never
	// SMTPTLSConfig overrides the SMTP client's TLS settings. Not a flag:
	// tests trust an in-process SMTP server's certificate with it.
	SMTPTLSConfig  *tls.Config
	FCMCredentials string // Firebase service account key file (JSON); empty: no FCM
	APNsKey        string // APNs .p8 key file; empty: no APNs
	APNsKeyID      string
	APNsTeamID     string
	APNsTopic      string // the iOS app's bundle id
	APNsSandbox    bool
	// MobilePush overrides the FCM/APNs endpoints and HTTP client. Not
	// flags: tests point them at in-process fakes.
	MobilePush MobilePushOverrides
	// PushTransport overrides the HTTP transport of the Web Push sender.
	// Not a flag: tests point it at an in-process push service's TLS.
	PushTransport http.RoundTripper

	// PasswordParams overrides the argon2id cost (zero: the OWASP-grade
	// defaults). Not a flag: tests whose subject is not hashing use
	// app.FastPasswordParams to keep a suite of hundreds of sign-ups fast.
	PasswordParams app.PasswordParams
}

// MobilePushOverrides redirect the mobile push senders (tests).
type MobilePushOverrides struct {
	FCMEndpoint, FCMTokenURL, APNsEndpoint string
	Client                                 *http.Client
}

// Default returns the configuration `parley serve` uses with no settings.
func Default() Config {
	return Config{
		Addr:              ":8080",
		DataDir:           "./parley-data",
		LogLevel:          "info",
		LogFormat:         "text",
		MaxBodyBytes:      1 << 20,
		MaxMessage:        4000,
		SessionTTL:        30 * 24 * time.Hour,
		ShutdownGrace:     15 * time.Second,
		SendRate:          app.DefaultLimits().MessagesPerUserSecond,
		WSFrameRate:       100,
		CommitLinger:      sqlite.DefaultCommitLinger,
		MaxReactions:      app.DefaultLimits().MaxReactionsPerMsg,
		MaxMembers:        app.DefaultLimits().MaxMembers,
		MaxFileBytes:      100 << 20,
		UserQuotaBytes:    1 << 30,
		MediaGrace:        24 * time.Hour,
		Registration:      string(parley.RegistrationOpen),
		SignupsPerHour:    20,
		NotifyPoll:        2 * time.Second,
		WebPush:           true,
		VAPIDSubject:      "mailto:postmaster@localhost",
		PushSubsPerUser:   parley.DefaultPushSubscriptions,
		EmailVerification: string(parley.EmailVerificationOff),
		SMTPPort:          587,
		SMTPTLS:           "starttls",
		SMTPFrom:          "Parley <parley@localhost>",
		EmailDigestAfter:  15 * time.Minute,
		TURNRealm:         "parley",
		TURNTTL:           app.DefaultTURNTTL,
	}
}

// setting binds one Config field to a flag and its environment twin.
type setting struct {
	flag, usage string
	value       flag.Value
}

func (c *Config) settings() []setting {
	return []setting{
		{"addr", "HTTP listen address (\":0\" picks a free port)", (*stringValue)(&c.Addr)},
		{"data-dir", "directory for the embedded database and files (created if missing)", (*stringValue)(&c.DataDir)},
		{"db", "PostgreSQL URL (postgres://…); empty uses embedded SQLite in --data-dir", (*stringValue)(&c.DB)},
		{"mqtt", "MQTT 3.1.1/5 listen address, e.g. :1883 (docs/mqtt.md); empty: no MQTT gateway", (*stringValue)(&c.MQTT)},
		{"nats", "NATS URL (nats://…) for multi-node event delivery; empty uses the in-process bus", (*stringValue)(&c.NATS)},
		{"log-level", "log level: debug, info, warn or error", (*stringValue)(&c.LogLevel)},
		{"log-format", "log format: text or json", (*stringValue)(&c.LogFormat)},
		{"allowed-origins", "comma-separated Origin values allowed to open WebSockets (default: same host only)", (*listValue)(&c.AllowedOrigins)},
		{"trust-proxy", "take client addresses from X-Forwarded-For (only behind a trusted proxy)", (*boolValue)(&c.TrustProxy)},
		{"max-body-bytes", "maximum REST request body size; " + sizeForms, (*sizeValue)(&c.MaxBodyBytes)},
		{"max-message-chars", "maximum message body length in characters", (*intValue)(&c.MaxMessage)},
		{"session-ttl", "idle time after which a session expires (e.g. 720h)", (*durationValue)(&c.SessionTTL)},
		{"shutdown-grace", "time in-flight requests get to finish on shutdown", (*durationValue)(&c.ShutdownGrace)},
		{"send-rate", "messages per second each user may send, sustained (bursts of twice that, at least 10); beyond it sends get 429 rate_limited", (*floatValue)(&c.SendRate)},
		{"ws-frame-rate", "frames per second each WebSocket connection may send, sustained (bursts of twice that); beyond it frames get rate_limited errors, and a flood closes the socket with 1008", (*floatValue)(&c.WSFrameRate)},
		{"commit-linger", "the longest the message committer (SQLite or PostgreSQL) waits for more writes to arrive so that one commit serves them all, while many clients write at once (a lone client never waits); less CPU per message, in Parley and in PostgreSQL, for up to this much more latency; 0 never waits, at most 100ms", (*durationValue)(&c.CommitLinger)},
		{"max-reactions", "distinct emoji one message may carry", (*intValue)(&c.MaxReactions)},
		{"max-members", "members one group or channel may have", (*intValue)(&c.MaxMembers)},
		{"registration", "who may create an account: open (anyone who can reach the server), invite (with an invite code from an admin) or closed (admins create accounts)", (*stringValue)(&c.Registration)},
		{"webhooks-allow-private", "let outgoing webhooks reach loopback, private and other non-public addresses (refused by default)", (*boolValue)(&c.WebhooksAllowPrivate)},
		{"require-2fa", "require two-factor sign-in (TOTP) for every account: accounts without it enrol at their next sign-in, and their sessions stop working until then", (*boolValue)(&c.Require2FA)},
		{"signups-per-hour", "accounts one client address may register per hour (beyond it 429 rate_limited); 0 for no limit", (*intValue)(&c.SignupsPerHour)},
		{"pprof", "serve Go profiling endpoints (net/http/pprof) on this address, e.g. 127.0.0.1:6060", (*stringValue)(&c.Pprof)},
		{"max-file-bytes", "maximum size of one uploaded file; " + sizeForms, (*sizeValue)(&c.MaxFileBytes)},
		{"user-quota-bytes", "bytes of files each user may store; " + sizeForms, (*sizeValue)(&c.UserQuotaBytes)},
		{"file-types-allow", "comma-separated media types accepted for uploads, e.g. image/*,application/pdf (default: all)", (*listValue)(&c.FileTypesAllow)},
		{"file-types-deny", "comma-separated media types refused for uploads, e.g. application/x-executable", (*listValue)(&c.FileTypesDeny)},
		{"blob-key", "32-byte key (64 hex digits or base64) sealing stored files; default: generated in <data-dir>/blob.key; required with --s3-endpoint", (*stringValue)(&c.BlobKey)},
		{"media-grace", "how long unsent files and unreferenced stored files are kept before the sweep removes them", (*durationValue)(&c.MediaGrace)},
		{"s3-endpoint", "S3-compatible endpoint (https://host) for files; default: files under <data-dir>/blobs", (*stringValue)(&c.S3Endpoint)},
		{"s3-bucket", "S3 bucket (must exist)", (*stringValue)(&c.S3Bucket)},
		{"s3-region", "S3 region", (*stringValue)(&c.S3Region)},
		{"s3-access-key", "S3 access key id", (*stringValue)(&c.S3AccessKey)},
		{"s3-secret-key", "S3 secret access key", (*stringValue)(&c.S3SecretKey)},
		{"s3-prefix", "key prefix inside the S3 bucket", (*stringValue)(&c.S3Prefix)},
		{"tls-cert", "serve HTTPS with this PEM certificate chain (with --tls-key; reloaded on SIGHUP)", (*stringValue)(&c.TLSCert)},
		{"tls-key", "PEM private key of --tls-cert", (*stringValue)(&c.TLSKey)},
		{"acme-domain", "comma-separated domain names to serve HTTPS for with certificates from ACME (Let's Encrypt); needs port 443 (or --http-redirect-addr :80) reachable from the internet", (*listValue)(&c.ACMEDomains)},
		{"acme-email", "contact address given to the ACME CA", (*stringValue)(&c.ACMEEmail)},
		{"acme-dir", "directory caching ACME account and certificates (default: <data-dir>/acme)", (*stringValue)(&c.ACMEDir)},
		{"acme-directory", "ACME directory URL (default: Let's Encrypt production)", (*stringValue)(&c.ACMEDirectory)},
		{"http-redirect-addr", "with HTTPS on, also listen for plain HTTP here (e.g. :80) and redirect to HTTPS (308), answering ACME HTTP-01 challenges", (*stringValue)(&c.HTTPRedirectAddr)},
		{"public-url", "the URL people reach this server at when it is not the listener's (behind a reverse proxy), e.g. https://chat.example.com; links the server hands out start with it", (*stringValue)(&c.PublicURL)},
		{"xmpp", "XMPP client listen address, e.g. :5222 (default: off)", (*stringValue)(&c.XMPP)},
		{"xmpp-domain", "XMPP domain: JIDs are username@domain (default: the host name)", (*stringValue)(&c.XMPPDomain)},
		{"xmpp-tls-cert", "PEM certificate file for XMPP STARTTLS (default: self-signed, kept in --data-dir)", (*stringValue)(&c.XMPPTLSCert)},
		{"xmpp-tls-key", "PEM private key file of --xmpp-tls-cert", (*stringValue)(&c.XMPPTLSKey)},
		{"turn", "embedded TURN/STUN server for calls: UDP and TCP listen address, e.g. :3478 (default: off; docs/calls.md)", (*stringValue)(&c.TURN)},
		{"turn-public-ip", "public IP address of the embedded TURN server (relay address); default: the host of --turn if it names one", (*stringValue)(&c.TURNPublicIP)},
		{"turn-realm", "TURN realm", (*stringValue)(&c.TURNRealm)},
		{"turn-secret", "secret shared with the TURN servers for short-lived credentials (coturn: static-auth-secret); default with --turn: random per process — set it on every node of a cluster", (*stringValue)(&c.TURNSecret)},
		{"turn-ttl", "lifetime of the TURN credentials handed to clients; TURN servers recheck them on every relay refresh, so make it longer than calls last", (*durationValue)(&c.TURNTTL)},
		{"ice-urls", "comma-separated external STUN/TURN URLs for calls (stun:host:3478, turn:host:3478?transport=udp, turns:host:5349); turn URLs need --turn-secret", (*listValue)(&c.ICEURLs)},
		{"web-push", "send Web Push notifications to subscribed browsers (the VAPID key pair is generated at first start and kept in the database)", (*boolValue)(&c.WebPush)},
		{"vapid-subject", "contact push services may use about this server: mailto:you@example.org or https://your.site (some push services refuse placeholders)", (*stringValue)(&c.VAPIDSubject)},
		{"push-subscriptions-per-user", "Web Push subscriptions one user may hold; beyond it the oldest is dropped", (*intValue)(&c.PushSubsPerUser)},
		{"push-allow-insecure", "accept http and private or loopback push endpoints (for tests against a local push service only)", (*boolValue)(&c.PushAllowInsecure)},
		{"email-verification", "whether accounts prove their email address: off, optional (a link is mailed; password reset and digests need it) or required (sign-up needs an address, and no sign-in before its link is followed)", (*stringValue)(&c.EmailVerification)},
		{"smtp-host", "SMTP server for outgoing email; empty: emails (and their links) are written to the log", (*stringValue)(&c.SMTPHost)},
		{"smtp-port", "SMTP server port", (*intValue)(&c.SMTPPort)},
		{"smtp-username", "SMTP user name (with --smtp-password: AUTH PLAIN or LOGIN)", (*stringValue)(&c.SMTPUsername)},
		{"smtp-password", "SMTP password", (*stringValue)(&c.SMTPPassword)},
		{"smtp-from", "From address of every email", (*stringValue)(&c.SMTPFrom)},
		{"smtp-tls", "SMTP encryption: starttls (required), tls (from the first byte, port 465) or none", (*stringValue)(&c.SMTPTLS)},
		{"email-digest-after", "email a digest of mentions and direct messages still unread this long after they arrived (to verified addresses); 0 turns digests off", (*durationValue)(&c.EmailDigestAfter)},
		{"fcm-credentials", "Firebase service account key (JSON file) for pushing to Android and Firebase apps through FCM HTTP v1; empty: no FCM", (*stringValue)(&c.FCMCredentials)},
		{"apns-key", "APNs authentication key (.p8 file) for pushing to iOS apps; empty: no APNs", (*stringValue)(&c.APNsKey)},
		{"apns-key-id", "key id of --apns-key", (*stringValue)(&c.APNsKeyID)},
		{"apns-team-id", "Apple developer team id of --apns-key", (*stringValue)(&c.APNsTeamID)},
		{"apns-topic", "bundle id of the iOS app (the APNs topic)", (*stringValue)(&c.APNsTopic)},
		{"apns-sandbox", "send to the APNs development environment (apps built for development)", (*boolValue)(&c.APNsSandbox)},
		{"notify-poll", "how often the notification queue is read when nothing woke the notifier (new messages wake it at once)", (*durationValue)(&c.NotifyPoll)},
	}
}

// EnvName returns the environment variable that sets a flag: PARLEY_ plus the
// flag name upper-cased with dashes as underscores (data-dir → PARLEY_DATA_DIR).
func EnvName(flagName string) string {
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Bind registers every setting on fs, after first applying the environment
// (getenv, usually os.Getenv). Parsing fs then applies the flags on top.
func (c *Config) Bind(fs *flag.FlagSet, getenv func(string) string) error {
	for _, s := range c.settings() {
		env := EnvName(s.flag)
		if v := getenv(env); v != "" {
			if err := s.value.Set(v); err != nil {
				return fmt.Errorf("%s=%q: %v", env, v, err)
			}
		}
		fs.Var(s.value, s.flag, s.usage+" [env "+env+"]")
	}
	return nil
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("public-url must be an http(s) URL like https://chat.example.com, not %q", c.PublicURL)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log-level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log-format must be text or json, not %q", c.LogFormat)
	}
	if c.Addr == "" {
		return fmt.Errorf("addr must not be empty")
	}
	if c.DB == "" && c.DataDir == "" {
		return fmt.Errorf("data-dir must not be empty when --db is not set")
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return fmt.Errorf("db must be a postgres:// URL")
	}
	if c.NATS != "" && !strings.HasPrefix(c.NATS, "nats://") {
		return fmt.Errorf("nats must be a nats:// URL")
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("max-body-bytes must be at least 1024")
	}
	if c.MaxMessage < 1 || c.MaxMessage > 1<<20 {
		return fmt.Errorf("max-message-chars must be between 1 and 1048576")
	}
	if c.SessionTTL < time.Minute {
		return fmt.Errorf("session-ttl must be at least 1m")
	}
	if !(c.SendRate > 0 && c.SendRate <= 1e6) { // also refuses NaN
		return fmt.Errorf("send-rate must be above 0 and at most 1000000")
	}
	if c.CommitLinger < 0 || c.CommitLinger > 100*time.Millisecond {
		return fmt.Errorf("commit-linger must be between 0 and 100ms")
	}
	if !(c.WSFrameRate >= 1 && c.WSFrameRate <= 1e6) {
		return fmt.Errorf("ws-frame-rate must be between 1 and 1000000")
	}
	if c.MaxReactions < 1 || c.MaxReactions > 10000 {
		return fmt.Errorf("max-reactions must be between 1 and 10000")
	}
	if c.MaxMembers < 2 || c.MaxMembers > 10000000 {
		return fmt.Errorf("max-members must be between 2 and 10000000")
	}
	if !parley.RegistrationPolicy(c.Registration).Valid() {
		return fmt.Errorf("registration must be open, invite or closed, not %q", c.Registration)
	}
	if c.SignupsPerHour < 0 || c.SignupsPerHour > 1000000 {
		return fmt.Errorf("signups-per-hour must be between 0 (no limit) and 1000000")
	}
	if c.MaxFileBytes < 1 {
		return fmt.Errorf("max-file-bytes must be positive")
	}
	if c.UserQuotaBytes < 1 {
		return fmt.Errorf("user-quota-bytes must be positive")
	}
	if !strings.HasPrefix(c.VAPIDSubject, "mailto:") && !strings.HasPrefix(c.VAPIDSubject, "https://") {
		return fmt.Errorf("vapid-subject must be a mailto: or https:// URL")
	}
	if !parley.EmailVerification(c.EmailVerification).Valid() {
		return fmt.Errorf("email-verification must be off, optional or required")
	}
	switch c.SMTPTLS {
	case "starttls", "tls", "none":
	default:
		return fmt.Errorf("smtp-tls must be starttls, tls or none")
	}
	if c.SMTPPort < 1 || c.SMTPPort > 65535 {
		return fmt.Errorf("smtp-port must be between 1 and 65535")
	}
	if c.EmailDigestAfter < 0 {
		return fmt.Errorf("email-digest-after must not be negative")
	}
	if c.APNsKey != "" && (c.APNsKeyID == "" || c.APNsTeamID == "" || c.APNsTopic == "") {
		return fmt.Errorf("apns-key needs apns-key-id, apns-team-id and apns-topic")
	}
	if c.PushSubsPerUser < 1 || c.PushSubsPerUser > 100 {
		return fmt.Errorf("push-subscriptions-per-user must be between 1 and 100")
	}
	if c.NotifyPoll < 10*time.Millisecond || c.NotifyPoll > time.Minute {
		return fmt.Errorf("notify-poll must be between 10ms and 1m")
	}
	if c.MediaGrace < time.Minute {
		return fmt.Errorf("media-grace must be at least 1m")
	}
	if c.S3Endpoint != "" && (c.S3Bucket == "" || c.BlobKey == "") {
		return fmt.Errorf("s3-endpoint needs s3-bucket and blob-key (every node must share the key)")
	}
	if (c.XMPPTLSCert == "") != (c.XMPPTLSKey == "") {
		return fmt.Errorf("xmpp-tls-cert and xmpp-tls-key go together")
	}
	if err := c.validateCalls(); err != nil {
		return err
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	return nil
}

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

type listValue []string

func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) Set(s string) error {
	*v = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*v = append(*v, p)
		}
	}
	return nil
}

type boolValue bool

func (v *boolValue) String() string { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	*v = boolValue(b)
	return err
}
func (v *boolValue) IsBoolFlag() bool { return true }

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	*v = intValue(n)
	return err
}

type floatValue float64

func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	*v = floatValue(f)
	return err
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	*v = durationValue(d)
	return err
}
