package server

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0":          0,
		"1048576":    1 << 20,
		"100MB":      100e6,
		"100mb":      100e6,
		"100 MB":     100e6,
		"1GiB":       1 << 30,
		"1gib":       1 << 30,
		"1.5GiB":     3 << 29,
		"512KiB":     512 << 10,
		"2kB":        2000,
		"7B":         7,
		"1TiB":       1 << 40,
		"8388607TiB": 8388607 << 40, // the largest whole TiB count that fits
		" 64 KiB ":   64 << 10,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "lots", "-1", "-1MB", "1e6", "0x10", "1_000", "10 M", "10XB", "1.5", "0.1B",
		"9223372036854775808", "9000000TiB", "1..5GB", "1MB2", "+5"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, n)
		} else if !strings.Contains(err.Error(), "invalid size") {
			t.Errorf("ParseSize(%q): unclear error %q", in, err)
		}
	}
}

func TestFormatSizeRoundTrips(t *testing.T) {
	for _, n := range []int64{0, 1, 1000, 1024, 1 << 20, 100 << 20, 1 << 30, 1500, 3 << 29, 1<<63 - 1} {
		s := FormatSize(n)
		back, err := ParseSize(s)
		if err != nil || back != n {
			t.Errorf("FormatSize(%d) = %q parses back to %d, %v", n, s, back, err)
		}
	}
	if got := FormatSize(100 << 20); got != "100MiB" {
		t.Errorf("FormatSize(100MiB) = %q", got)
	}
}

func TestSizeFlagsAcceptUnits(t *testing.T) {
	cfg := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := map[string]string{"PARLEY_USER_QUOTA_BYTES": "2GiB"}
	if err := cfg.Bind(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--max-body-bytes", "2MB", "--max-file-bytes=1GiB"}); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxBodyBytes != 2e6 || cfg.MaxFileBytes != 1<<30 || cfg.UserQuotaBytes != 2<<30 {
		t.Errorf("body %d file %d quota %d", cfg.MaxBodyBytes, cfg.MaxFileBytes, cfg.UserQuotaBytes)
	}
	for _, name := range []string{"max-body-bytes", "max-file-bytes", "user-quota-bytes"} {
		f := fs.Lookup(name)
		if !strings.Contains(f.Usage, "100MB") || !strings.Contains(f.Usage, "1GiB") {
			t.Errorf("--%s help does not show the accepted forms: %q", name, f.Usage)
		}
		cfg := Default()
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		_ = cfg.Bind(fs, func(string) string { return "" })
		if err := fs.Parse([]string{"--" + name, "100 megabytes"}); err == nil || !strings.Contains(err.Error(), "invalid size") {
			t.Errorf("--%s accepted a bad size (err %v)", name, err)
		}
	}
}
