package parley_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

func TestCanonicalUsername(t *testing.T) {
	good := map[string]string{
		"alice": "alice", "Alice": "alice", "ALICE.B": "alice.b", "a_b-c.d": "a_b-c.d", "abc": "abc",
		"007": "007", strings.Repeat("x", 32): strings.Repeat("x", 32),
	}
	for in, want := range good {
		got, err := parley.CanonicalUsername(in)
		if err != nil || got != want {
			t.Errorf("CanonicalUsername(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ab", strings.Repeat("x", 33), "_abc", "abc_", ".abc", "abc-", "a b", "a@b",
		"\u0430lice", "ａｌｉｃｅ", "ali\u200dce", "alice\n", "İstanbul", "straße", "a\x00b", "a/b"} {
		if got, err := parley.CanonicalUsername(in); err == nil {
			t.Errorf("CanonicalUsername(%q) = %q, want an error", in, got)
		} else if e := parley.AsError(err); e.Field != "username" {
			t.Errorf("CanonicalUsername(%q): field %q", in, e.Field)
		}
	}
}

func TestTextFields(t *testing.T) {
	if got, err := parley.CleanDisplayName("  Zoë 🚀  "); err != nil || got != "Zoë 🚀" {
		t.Errorf("display name: %q, %v", got, err)
	}
	for _, bad := range []string{"", "   ", "a\tb", "a\u202eb", "a\u2067b", "\xff", strings.Repeat("é", 65)} {
		if _, err := parley.CleanDisplayName(bad); err == nil {
			t.Errorf("display name %q accepted", bad)
		}
	}
	if got, err := parley.CleanStatusText(""); err != nil || got != "" {
		t.Errorf("empty status: %q, %v", got, err)
	}
	if _, err := parley.CleanStatusText(strings.Repeat("ü", 140)); err != nil {
		t.Errorf("140-char status refused: %v", err)
	}
	if _, err := parley.CleanStatusText(strings.Repeat("ü", 141)); !parley.IsCode(err, parley.CodeTooLarge) {
		t.Errorf("141-char status: %v", err)
	}
	for in, ok := range map[string]bool{"": true, "a@b": true, "first.last+tag@example.org": true, "@b": false, "a@": false,
		"a@@b": false, "a b@c": false, "<a@b>": false, "a@b\x00": false} {
		if _, err := parley.CleanEmail(in); (err == nil) != ok {
			t.Errorf("email %q: %v", in, err)
		}
	}
	for in, code := range map[string]parley.Code{"1234567": parley.CodeInvalid, "12345678": "", strings.Repeat("x", 256): "",
		strings.Repeat("x", 257): parley.CodeTooLarge} {
		if err := parley.CheckPassword("password", in); parley.ErrorCode(err) != code {
			t.Errorf("password of %d bytes: %v, want %q", len(in), err, code)
		}
	}
	for _, th := range []string{"system", "light", "dark"} {
		if err := (parley.UserSettings{Theme: th}).Validate(); err != nil {
			t.Errorf("theme %s: %v", th, err)
		}
	}
	if err := (parley.UserSettings{Theme: "Dark"}).Validate(); parley.AsError(err).Field != "settings.theme" {
		t.Errorf("theme Dark: %v", err)
	}
}

// FuzzUserInput checks the account input validators on arbitrary text: no
// panics, accepted usernames are canonical and ASCII, accepted text is
// valid UTF-8 within its limits, and refusals are typed errors naming the field.
func FuzzUserInput(f *testing.F) {
	for _, s := range []string{"alice", "Alice.B", "\u0430lice", "  Zoë  ", "a\u202eb", "a@b.c", "\xff\xfe", strings.Repeat("x", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := parley.CanonicalUsername(s); err == nil {
			if len(u) < 3 || len(u) > 32 || u != strings.ToLower(s) || strings.Trim(u, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != "" {
				t.Fatalf("accepted username %q → %q", s, u)
			}
			if again, err := parley.CanonicalUsername(u); err != nil || again != u {
				t.Fatalf("canonical form %q not stable: %q %v", u, again, err)
			}
		} else if parley.AsError(err).Field != "username" {
			t.Fatalf("username error %v", err)
		}
		if d, err := parley.CleanDisplayName(s); err == nil {
			if !utf8.ValidString(d) || d == "" || utf8.RuneCountInString(d) > 64 {
				t.Fatalf("accepted display name %q", d)
			}
		} else if parley.AsError(err).Field != "display_name" {
			t.Fatalf("display name error %v", err)
		}
		if e, err := parley.CleanEmail(s); err == nil && (len(e) > 254 || !utf8.ValidString(e) || (e != "" && !strings.Contains(e, "@"))) {
			t.Fatalf("accepted email %q", e)
		}
		if p, err := parley.UsernamePrefix(s); err == nil && strings.Trim(p, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != "" {
			t.Fatalf("accepted prefix %q", p)
		}
	})
}
