package parley_test

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// TestEveryCodeTravels fails for a code of parley.Codes without its HTTP
// status and close code, and for two codes sharing one (the SDK could not
// map them back).
func TestEveryCodeTravels(t *testing.T) {
	statuses, closes := map[int]parley.Code{}, map[int]parley.Code{}
	for _, c := range parley.Codes {
		st, cl := c.HTTPStatus(), c.CloseCode()
		if _, ok := parley.CodeForClose(cl); !ok || (c != parley.CodeInternal && (st == 500 || cl == 1011)) {
			t.Errorf("code %q has no status/close-code entry in error.go's wire table", c)
		}
		if st < 400 || st > 599 {
			t.Errorf("code %q: status %d is no error status", c, st)
		}
		if prev, dup := statuses[st]; dup {
			t.Errorf("codes %q and %q share HTTP status %d", prev, c, st)
		}
		if prev, dup := closes[cl]; dup {
			t.Errorf("codes %q and %q share close code %d", prev, c, cl)
		}
		statuses[st], closes[cl] = c, c
		if got := parley.CodeForStatus(st); got != c {
			t.Errorf("CodeForStatus(%d) = %q, want %q", st, got, c)
		}
		if got, ok := parley.CodeForClose(cl); !ok || got != c {
			t.Errorf("CodeForClose(%d) = %q %v, want %q", cl, got, ok, c)
		}
	}
	if got := parley.Code("no_such_code"); got.HTTPStatus() != 500 || got.CloseCode() != 1011 {
		t.Errorf("unknown code: %d %d, want 500 1011", got.HTTPStatus(), got.CloseCode())
	}
	for st, want := range map[int]parley.Code{502: parley.CodeUnavailable, 504: parley.CodeUnavailable, 418: parley.CodeInternal} {
		if got := parley.CodeForStatus(st); got != want {
			t.Errorf("CodeForStatus(%d) = %q, want %q", st, got, want)
		}
	}
	for _, cl := range []int{1000, 1001, 4000, 4008} {
		if c, ok := parley.CodeForClose(cl); ok {
			t.Errorf("close %d is no error, mapped to %q", cl, c)
		}
	}
}

// TestErrorsDocMatchesTheTable keeps docs/errors.md's table of codes the
// same as the code's.
func TestErrorsDocMatchesTheTable(t *testing.T) {
	doc, err := os.ReadFile("docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (\\d+) \\| (\\d+) \\|").FindAllStringSubmatch(string(doc), -1)
	documented := map[parley.Code]bool{}
	for _, r := range rows {
		c := parley.Code(r[1])
		st, _ := strconv.Atoi(r[2])
		cl, _ := strconv.Atoi(r[3])
		documented[c] = true
		if c.HTTPStatus() != st || c.CloseCode() != cl {
			t.Errorf("docs/errors.md: %q %d %d; error.go says %d %d", c, st, cl, c.HTTPStatus(), c.CloseCode())
		}
	}
	for _, c := range parley.Codes {
		if !documented[c] {
			t.Errorf("code %q is missing from docs/errors.md", c)
		}
	}
}

func TestErrorDetailRoundTrip(t *testing.T) {
	e := &parley.Error{Code: parley.CodeRateLimited, Message: "slow down", Field: "x", RetryAfter: 1500 * time.Millisecond}
	d := e.Detail()
	if d.RetryAfter != 2 || d.Message != "slow down" {
		t.Fatalf("Detail: %+v, want retry_after rounded up to 2", d)
	}
	back := d.Err()
	if back.Code != e.Code || back.Field != "x" || back.RetryAfter != 2*time.Second {
		t.Fatalf("Err: %+v", back)
	}
	in := parley.Internal(os.ErrPermission).Detail()
	if in.Message != "internal error" || in.Code != parley.CodeInternal {
		t.Fatalf("internal detail shows its cause: %+v", in)
	}
}
