package parley

import (
	"strings"
	"testing"
	"time"
)

func TestAdmitPost(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	mask, _ := ConversationRules{DenyWords: []string{"darn", "heck"}, DenyPatterns: []string{`b[a4]d`}, DenyAction: DenyMask}.Compile()
	refuse, _ := ConversationRules{DenyWords: []string{"darn"}}.Compile()
	cases := []struct {
		name   string
		st     PostingState
		role   MemberRole
		p      Post
		server *ContentFilter
		conv   *ContentFilter
		body   string
		code   Code
		field  string
		retry  time.Duration
	}{
		{name: "plain", p: Post{Body: "hi"}, body: "hi"},
		{name: "blocked", st: PostingState{Blocked: true}, role: RoleOwner, p: Post{Body: "hi"}, code: CodeForbidden, field: "conversation_id"},
		{name: "muted", st: PostingState{MutedUntil: now.Add(time.Second)}, role: RoleAdmin, p: Post{Body: "hi"}, code: CodeForbidden, field: "conversation_id"},
		{name: "mute over", st: PostingState{MutedUntil: now}, p: Post{Body: "hi"}, body: "hi"},
		{name: "read-only", st: PostingState{Rules: ConversationRules{ReadOnly: true}}, role: RoleMember, p: Post{Body: "hi"}, code: CodeForbidden, field: "conversation_id"},
		{name: "read-only admin", st: PostingState{Rules: ConversationRules{ReadOnly: true}}, role: RoleAdmin, p: Post{Body: "hi"}, body: "hi"},
		{name: "slow", st: PostingState{Rules: ConversationRules{SlowModeSeconds: 30}, LastPostAt: now.Add(-10 * time.Second)}, role: RoleMember,
			p: Post{Body: "hi"}, code: CodeRateLimited, retry: 20 * time.Second},
		{name: "slow elapsed", st: PostingState{Rules: ConversationRules{SlowModeSeconds: 30}, LastPostAt: now.Add(-30 * time.Second)}, role: RoleMember,
			p: Post{Body: "hi"}, body: "hi"},
		{name: "slow owner", st: PostingState{Rules: ConversationRules{SlowModeSeconds: 30}, LastPostAt: now}, role: RoleOwner, p: Post{Body: "hi"}, body: "hi"},
		{name: "length", st: PostingState{Rules: ConversationRules{MaxMessageChars: 3}}, p: Post{Body: "héllo"}, code: CodeTooLarge, field: "body"},
		{name: "length ok", st: PostingState{Rules: ConversationRules{MaxMessageChars: 3}}, p: Post{Body: "hé!"}, body: "hé!"},
		{name: "link", st: PostingState{Rules: ConversationRules{NoLinks: true}}, p: Post{Body: "see https://x.test/a"}, code: CodeForbidden, field: "body"},
		{name: "bare domain", st: PostingState{Rules: ConversationRules{NoLinks: true}}, p: Post{Body: "visit example.com now"}, code: CodeForbidden, field: "body"},
		{name: "no link", st: PostingState{Rules: ConversationRules{NoLinks: true}}, p: Post{Body: "end of sentence.Next one"}, body: "end of sentence.Next one"},
		{name: "attachment", st: PostingState{Rules: ConversationRules{NoAttachments: true}}, p: Post{Attachments: 1}, code: CodeForbidden, field: "attachment_ids"},
		{name: "mask", p: Post{Body: "Darn, that heck of a B4D day; darned"}, conv: mask, body: "****, that **** of a *** day; darned"},
		{name: "refuse", p: Post{Body: "oh DARN"}, conv: refuse, code: CodeForbidden, field: "body"},
		{name: "server first", p: Post{Body: "darn"}, server: refuse, conv: mask, code: CodeForbidden, field: "body"},
		{name: "server mask then conv", p: Post{Body: "darn"}, server: mask, conv: refuse, body: "****"},
	}
	for _, tc := range cases {
		body, err := AdmitPost(tc.st, tc.role, tc.p, now, tc.server, tc.conv)
		if tc.code == "" {
			if err != nil || body != tc.body {
				t.Errorf("%s: %q %v, want %q", tc.name, body, err, tc.body)
			}
			continue
		}
		e := AsError(err)
		if e == nil || e.Code != tc.code || e.Field != tc.field || e.RetryAfter != tc.retry {
			t.Errorf("%s: %v, want %s field %q retry %v", tc.name, err, tc.code, tc.field, tc.retry)
		}
	}
}

func TestConversationRulesValidate(t *testing.T) {
	ok := ConversationRules{SlowModeSeconds: 60, MaxMessageChars: 100, DenyWords: []string{"a b"}, DenyPatterns: []string{`x+y`}}.Normalize()
	if err := ok.Validate(4000); err != nil {
		t.Fatal(err)
	}
	bad := map[string]ConversationRules{
		"slow_mode_seconds": {SlowModeSeconds: MaxSlowModeSeconds + 1},
		"max_message_chars": {MaxMessageChars: 4001},
		"deny_action":       {DenyAction: "explode"},
		"deny_words":        {DenyWords: []string{" "}},
		"deny_patterns":     {DenyPatterns: []string{"(a"}},
		"deny_patterns ":    {DenyPatterns: []string{"x*"}},
	}
	for field, r := range bad {
		if e := AsError(r.Normalize().Validate(4000)); e == nil || e.Field != strings.TrimSpace(field) {
			t.Errorf("%s: %v", field, e)
		}
	}
	long := ConversationRules{DenyPatterns: []string{strings.Repeat("a", MaxDenyPatternLen+1)}}.Normalize()
	if e := AsError(long.Validate(4000)); e == nil || e.Code != CodeTooLarge {
		t.Errorf("long pattern: %v", e)
	}
	many := ConversationRules{DenyWords: make([]string, MaxDenyWords+1)}.Normalize()
	if e := AsError(many.Validate(4000)); e == nil || e.Code != CodeTooLarge {
		t.Errorf("many words: %v", e)
	}
}

func TestCanModerateAndDirectPeer(t *testing.T) {
	for _, c := range []struct {
		a, b MemberRole
		want bool
	}{{RoleOwner, RoleOwner, false}, {RoleOwner, RoleAdmin, true}, {RoleOwner, RoleMember, true}, {RoleAdmin, RoleAdmin, false},
		{RoleAdmin, RoleMember, true}, {RoleAdmin, "", true}, {RoleMember, RoleMember, false}, {RoleAdmin, RoleOwner, false}} {
		if CanModerate(c.a, c.b) != c.want {
			t.Errorf("CanModerate(%s, %s) != %v", c.a, c.b, c.want)
		}
	}
	k := DirectKey("b", "a")
	if DirectPeer(k, "a") != "b" || DirectPeer(k, "b") != "a" || DirectPeer(k, "c") != "" || DirectPeer("", "a") != "" {
		t.Error("DirectPeer")
	}
	if AdmitBlock("a", "a", 0) == nil || AdmitBlock("a", "b", MaxBlocks) == nil || AdmitBlock("a", "b", 0) != nil {
		t.Error("AdmitBlock")
	}
}

// FuzzContentFilter: any body through any valid deny list either passes,
// is refused, or comes back masked with the same number of characters.
func FuzzContentFilter(f *testing.F) {
	f.Add("darn it", "darn", `b[a4]d`)
	f.Add("ünïcödé bad", "ü", `.`)
	f.Fuzz(func(t *testing.T, body, word, pattern string) {
		r := ConversationRules{DenyWords: []string{word}, DenyPatterns: []string{pattern}, DenyAction: DenyMask}.Normalize()
		if r.Validate(4000) != nil {
			return
		}
		c, err := r.Compile()
		if err != nil {
			t.Fatalf("valid rules do not compile: %v", err)
		}
		out, err := c.Apply(body)
		if err != nil {
			t.Fatal(err)
		}
		if len([]rune(out)) != len([]rune(body)) && strings.ToValidUTF8(body, "") == body {
			t.Fatalf("mask changed the length: %q → %q", body, out)
		}
	})
}
