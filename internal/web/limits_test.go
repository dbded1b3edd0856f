package web

import (
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/parley-chat/parley"
)

// TestLimitsMatchServer: the register form's limits (static/js/limits.js)
// are the server's (user.go), so the client never sends what the server
// refuses nor refuses what it takes.
func TestLimitsMatchServer(t *testing.T) {
	src, err := os.ReadFile("static/js/limits.js")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{
		"USERNAME_MIN": parley.UsernameMinLen, "USERNAME_MAX": parley.UsernameMaxLen,
		"DISPLAY_NAME_MAX": parley.DisplayNameMaxChars,
		"PASSWORD_MIN":     parley.PasswordMinLen, "PASSWORD_MAX": parley.PasswordMaxLen,
	} {
		m := regexp.MustCompile(`export const ` + name + ` = (\d+);`).FindSubmatch(src)
		if m == nil {
			t.Errorf("limits.js lacks %s", name)
		} else if string(m[1]) != fmt.Sprint(want) {
			t.Errorf("limits.js %s = %s, server %d", name, m[1], want)
		}
	}
}
