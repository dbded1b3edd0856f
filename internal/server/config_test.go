package server

import (
	"flag"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func TestConfigPrecedenceDefaultEnvFlag(t *testing.T) {
	env := map[string]string{
		"PARLEY_ADDR":            ":9000",
		"PARLEY_DATA_DIR":        "/env/dir",
		"PARLEY_ALLOWED_ORIGINS": "https://a.example, https://b.example",
		"PARLEY_SESSION_TTL":     "48h",
	}
	cfg := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if err := cfg.Bind(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--addr", ":7000", "--trust-proxy"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":7000" {
		t.Errorf("flag should override env: addr = %q", cfg.Addr)
	}
	if cfg.DataDir != "/env/dir" {
		t.Errorf("env should override default: data dir = %q", cfg.DataDir)
	}
	if got := strings.Join(cfg.AllowedOrigins, "|"); got != "https://a.example|https://b.example" {
		t.Errorf("allowed origins = %q", got)
	}
	if cfg.SessionTTL != 48*time.Hour || !cfg.TrustProxy {
		t.Errorf("session ttl %v trust proxy %v", cfg.SessionTTL, cfg.TrustProxy)
	}
	if cfg.MaxMessage != 4000 {
		t.Errorf("untouched setting should keep its default, got %d", cfg.MaxMessage)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}

func TestConfigBadEnvValueNamesTheVariable(t *testing.T) {
	cfg := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	err := cfg.Bind(fs, func(k string) string {
		if k == "PARLEY_MAX_BODY_BYTES" {
			return "lots"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "PARLEY_MAX_BODY_BYTES") {
		t.Fatalf("got %v, want an error naming PARLEY_MAX_BODY_BYTES", err)
	}
}

func TestConfigBadFlagValueIsRefused(t *testing.T) {
	cfg := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_ = cfg.Bind(fs, func(string) string { return "" })
	if err := fs.Parse([]string{"--session-ttl", "forever"}); err == nil {
		t.Fatal("bad duration accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	cases := map[string]func(*Config){
		"log level":          func(c *Config) { c.LogLevel = "loud" },
		"log format":         func(c *Config) { c.LogFormat = "xml" },
		"empty addr":         func(c *Config) { c.Addr = "" },
		"no data dir":        func(c *Config) { c.DataDir = "" },
		"db scheme":          func(c *Config) { c.DB = "mysql://x" },
		"nats scheme":        func(c *Config) { c.NATS = "http://x" },
		"tiny body cap":      func(c *Config) { c.MaxBodyBytes = 10 },
		"zero msg chars":     func(c *Config) { c.MaxMessage = 0 },
		"short ttl":          func(c *Config) { c.SessionTTL = time.Second },
		"zero send rate":     func(c *Config) { c.SendRate = 0 },
		"negative send rate": func(c *Config) { c.SendRate = -1 },
		"NaN send rate":      func(c *Config) { c.SendRate = math.NaN() },
		"huge send rate":     func(c *Config) { c.SendRate = 2e6 },
		"zero frame rate":    func(c *Config) { c.WSFrameRate = 0 },
		"NaN frame rate":     func(c *Config) { c.WSFrameRate = math.NaN() },
		"huge frame rate":    func(c *Config) { c.WSFrameRate = 2e6 },
		"negative linger":    func(c *Config) { c.CommitLinger = -time.Millisecond },
		"long linger":        func(c *Config) { c.CommitLinger = time.Second },
		"zero reactions":     func(c *Config) { c.MaxReactions = 0 },
		"huge reactions":     func(c *Config) { c.MaxReactions = 1 << 20 },
		"one member":         func(c *Config) { c.MaxMembers = 1 },
		"huge members":       func(c *Config) { c.MaxMembers = 1 << 30 },
		"public url scheme":  func(c *Config) { c.PublicURL = "ftp://chat.example.com" },
		"public url no host": func(c *Config) { c.PublicURL = "https://" },
		"public url query":   func(c *Config) { c.PublicURL = "https://chat.example.com/?x=1" },
	}
	for name, mutate := range cases {
		cfg := Default()
		mutate(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: invalid config accepted", name)
		}
	}
	if err := (func() error { c := Default(); return c.Validate() })(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
	c := Default()
	c.PublicURL = "https://chat.example.com/"
	if err := c.Validate(); err != nil || c.PublicURL != "https://chat.example.com" {
		t.Errorf("public url: %q %v", c.PublicURL, err)
	}
}

// TestLimitSettings: the send rate, reactions and members limits come from
// env and flags and refuse garbage naming the variable (e2e
// TestLimitFlagsReachTheApp checks they reach the app).
func TestLimitSettings(t *testing.T) {
	cfg := Default()
	if cfg.SendRate != 50 || cfg.MaxReactions != 50 || cfg.MaxMembers != 10000 {
		t.Fatalf("defaults %v %d %d", cfg.SendRate, cfg.MaxReactions, cfg.MaxMembers)
	}
	env := map[string]string{"PARLEY_SEND_RATE": "2.5", "PARLEY_MAX_MEMBERS": "300", "PARLEY_WS_FRAME_RATE": "250"}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if err := cfg.Bind(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if cfg.CommitLinger != 2*time.Millisecond {
		t.Fatalf("default commit linger %v", cfg.CommitLinger)
	}
	if err := fs.Parse([]string{"--max-reactions", "7", "--max-members", "400", "--commit-linger", "0"}); err != nil {
		t.Fatal(err)
	}
	if cfg.SendRate != 2.5 || cfg.MaxReactions != 7 || cfg.MaxMembers != 400 || cfg.WSFrameRate != 250 || cfg.CommitLinger != 0 {
		t.Fatalf("got %v %d %d %v %v", cfg.SendRate, cfg.MaxReactions, cfg.MaxMembers, cfg.WSFrameRate, cfg.CommitLinger)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"PARLEY_SEND_RATE": "fast", "PARLEY_MAX_REACTIONS": "1.5", "PARLEY_MAX_MEMBERS": "many"} {
		c := Default()
		err := c.Bind(flag.NewFlagSet("t", flag.ContinueOnError), func(name string) string {
			if name == k {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}

func TestEveryFlagHasAnEnvTwinInUsage(t *testing.T) {
	cfg := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	_ = cfg.Bind(fs, func(string) string { return "" })
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		if !strings.Contains(f.Usage, EnvName(f.Name)) {
			t.Errorf("flag %s usage does not name %s", f.Name, EnvName(f.Name))
		}
	})
	if n < 10 {
		t.Errorf("only %d flags bound", n)
	}
	if EnvName("data-dir") != "PARLEY_DATA_DIR" {
		t.Errorf("EnvName(data-dir) = %s", EnvName("data-dir"))
	}
}
