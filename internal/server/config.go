package server

import (
	"flag"
	"fmt"
	"github.com/parley-chat/parley/internal/app"

	"strconv"
	"strings"
	"time"
)

// Config is every setting of `parley serve`. Values come from Default, then
// PARLEY_* environment variables, then command-line flags; Validate checks
// the result once and components receive copies of what they need.
type Config struct {
	Addr           string        // HTTP listen address
	DataDir        string        // SQLite database, blobs and keys
	DB             string        // PostgreSQL URL; empty means embedded SQLite in DataDir
	NATS           string        // NATS URL; empty means the in-process bus (single node)
	LogLevel       string        // debug, info, warn, error
	LogFormat      string        // text or json
	AllowedOrigins []string      // WebSocket Origin allow-list; empty: same host only
	TrustProxy     bool          // use X-Forwarded-For for client addresses
	MaxBodyBytes   int64         // REST request body cap
	MaxMessage     int           // message body limit in characters
	SessionTTL     time.Duration // idle session lifetime
	ShutdownGrace  time.Duration // time in-flight requests get on shutdown
	Pprof          string        // if set, serve net/http/pprof on this address

	// PasswordParams overrides the argon2id cost (zero: the OWASP-grade
	// defaults). Not a flag: tests whose subject is not hashing use
	// app.FastPasswordParams to keep a suite of hundreds of sign-ups fast.
	PasswordParams app.PasswordParams
}

// Default returns the configuration `parley serve` uses with no settings.
func Default() Config {
	return Config{
		Addr:          ":8080",
		DataDir:       "./parley-data",
		LogLevel:      "info",
		LogFormat:     "text",
		MaxBodyBytes:  1 << 20,
		MaxMessage:    4000,
		SessionTTL:    30 * 24 * time.Hour,
		ShutdownGrace: 15 * time.Second,
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
		{"nats", "NATS URL (nats://…) for multi-node event delivery; empty uses the in-process bus", (*stringValue)(&c.NATS)},
		{"log-level", "log level: debug, info, warn or error", (*stringValue)(&c.LogLevel)},
		{"log-format", "log format: text or json", (*stringValue)(&c.LogFormat)},
		{"allowed-origins", "comma-separated Origin values allowed to open WebSockets (default: same host only)", (*listValue)(&c.AllowedOrigins)},
		{"trust-proxy", "take client addresses from X-Forwarded-For (only behind a trusted proxy)", (*boolValue)(&c.TrustProxy)},
		{"max-body-bytes", "maximum REST request body size in bytes", (*int64Value)(&c.MaxBodyBytes)},
		{"max-message-chars", "maximum message body length in characters", (*intValue)(&c.MaxMessage)},
		{"session-ttl", "idle time after which a session expires (e.g. 720h)", (*durationValue)(&c.SessionTTL)},
		{"shutdown-grace", "time in-flight requests get to finish on shutdown", (*durationValue)(&c.ShutdownGrace)},
		{"pprof", "serve Go profiling endpoints (net/http/pprof) on this address, e.g. 127.0.0.1:6060", (*stringValue)(&c.Pprof)},
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

type int64Value int64

func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	*v = int64Value(n)
	return err
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	*v = durationValue(d)
	return err
}
