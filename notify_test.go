package parley

import (
	"testing"
	"time"
)

func TestNotifyPrefsValidate(t *testing.T) {
	good := []NotifyPrefs{
		{},
		{Level: NotifyMentions, TimeZone: "America/New_York", QuietHours: &QuietHours{Start: "22:00", End: "07:00"}},
		{Level: NotifyNone, QuietHours: &QuietHours{Start: "00:00", End: "23:59"}},
	}
	for _, p := range good {
		if err := p.Normalize().Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	bad := []struct {
		p     NotifyPrefs
		field string
		code  Code
	}{
		{NotifyPrefs{Level: "loud"}, "level", CodeInvalid},
		{NotifyPrefs{TimeZone: "Mars/Olympus"}, "time_zone", CodeInvalid},
		{NotifyPrefs{TimeZone: "../../etc/passwd"}, "time_zone", CodeInvalid},
		{NotifyPrefs{TimeZone: "/etc/localtime"}, "time_zone", CodeInvalid},
		{NotifyPrefs{TimeZone: string(make([]byte, 65))}, "time_zone", CodeTooLarge},
		{NotifyPrefs{QuietHours: &QuietHours{Start: "24:00", End: "07:00"}}, "quiet_hours.start", CodeInvalid},
		{NotifyPrefs{QuietHours: &QuietHours{Start: "22:00", End: "7:00"}}, "quiet_hours.end", CodeInvalid},
		{NotifyPrefs{QuietHours: &QuietHours{Start: "22:60", End: "07:00"}}, "quiet_hours.start", CodeInvalid},
		{NotifyPrefs{QuietHours: &QuietHours{Start: "", End: ""}}, "quiet_hours.start", CodeInvalid},
	}
	for _, b := range bad {
		err := b.p.Normalize().Validate()
		e := AsError(err)
		if err == nil || e.Code != b.code || e.Field != b.field {
			t.Errorf("%+v: got %v, want %s on %s", b.p, err, b.code, b.field)
		}
	}
}

func TestQuietHours(t *testing.T) {
	p := NotifyPrefs{TimeZone: "Europe/Paris", QuietHours: &QuietHours{Start: "22:00", End: "07:00"}}
	at := func(h, m int) time.Time { // UTC; Paris is UTC+1 in January
		return time.Date(2026, 1, 10, h, m, 0, 0, time.UTC)
	}
	cases := []struct {
		t     time.Time
		quiet bool
	}{
		{at(20, 59), false}, // 21:59 Paris
		{at(21, 0), true},   // 22:00
		{at(23, 30), true},  // 00:30
		{at(5, 59), true},   // 06:59
		{at(6, 0), false},   // 07:00
		{at(12, 0), false},
	}
	for _, c := range cases {
		if got := p.InQuietHours(c.t); got != c.quiet {
			t.Errorf("%v: quiet %v, want %v", c.t, got, c.quiet)
		}
	}
	day := NotifyPrefs{QuietHours: &QuietHours{Start: "09:00", End: "17:00"}} // UTC, not wrapping
	if !day.InQuietHours(at(9, 0)) || day.InQuietHours(at(17, 0)) || day.InQuietHours(at(8, 59)) {
		t.Error("daytime span")
	}
	all := NotifyPrefs{QuietHours: &QuietHours{Start: "08:00", End: "08:00"}}
	if !all.InQuietHours(at(3, 0)) || !all.InQuietHours(at(8, 0)) {
		t.Error("start == end is the whole day")
	}
	if (NotifyPrefs{}).InQuietHours(at(3, 0)) {
		t.Error("no quiet hours")
	}
}

func TestBroadcastMention(t *testing.T) {
	cases := map[string]MentionScope{
		"@all hands":          MentionAll,
		"hey @here.":          MentionHere,
		"@here and @all":      MentionAll,
		"(@ALL)":              MentionAll,
		"mail me@all.example": MentionNobody,
		"@allison":            MentionNobody,
		"@@all":               MentionNobody,
		"all here":            MentionNobody,
		"":                    MentionNobody,
	}
	for body, want := range cases {
		if got := BroadcastMention(body); got != want {
			t.Errorf("%q: %v, want %v", body, got, want)
		}
	}
}

func TestNotifyFor(t *testing.T) {
	at := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	later := at.Add(time.Hour)
	earlier := at.Add(-time.Hour)
	group := NotifyMessage{Kind: KindGroup, SenderID: "s", SenderRole: RoleMember, At: at}
	with := func(m NotifyMessage, f func(*NotifyMessage)) NotifyMessage { f(&m); return m }
	r := NotifyRecipient{UserID: "r"}
	rWith := func(f func(*NotifyRecipient)) NotifyRecipient { x := r; f(&x); return x }
	cases := []struct {
		name   string
		m      NotifyMessage
		r      NotifyRecipient
		reason NotifyReason
		ok     bool
	}{
		{"plain group message", group, r, ReasonMessage, true},
		{"direct", with(group, func(m *NotifyMessage) { m.Kind = KindDirect }), r, ReasonDirect, true},
		{"own message", with(group, func(m *NotifyMessage) { m.SenderID = "r" }), r, "", false},
		{"system message", with(group, func(m *NotifyMessage) { m.System = true }), r, "", false},
		{"deleted", with(group, func(m *NotifyMessage) { m.Deleted = true }), r, "", false},
		{"mention", with(group, func(m *NotifyMessage) { m.Mentions = []string{"x", "r"} }), r, ReasonMention, true},
		{"@all by a member is no mention", with(group, func(m *NotifyMessage) { m.Broadcast = MentionAll }), r, ReasonMessage, true},
		{"@all by an admin", with(group, func(m *NotifyMessage) { m.Broadcast = MentionAll; m.SenderRole = RoleAdmin }), r, ReasonMention, true},
		{"@here by the owner, offline", with(group, func(m *NotifyMessage) { m.Broadcast = MentionHere; m.SenderRole = RoleOwner }),
			r, ReasonMessage, true},
		{"@here by the owner, online", with(group, func(m *NotifyMessage) { m.Broadcast = MentionHere; m.SenderRole = RoleOwner }),
			rWith(func(x *NotifyRecipient) { x.Online = true }), ReasonMention, true},
		{"muted until later", with(group, func(m *NotifyMessage) { m.Mentions = []string{"r"} }),
			rWith(func(x *NotifyRecipient) { x.Conv.MutedUntil = &later }), "", false},
		{"member muted flag", with(group, func(m *NotifyMessage) { m.Kind = KindDirect }),
			rWith(func(x *NotifyRecipient) { x.MemberMuted = true }), "", false},
		{"mute expired", group, rWith(func(x *NotifyRecipient) { x.Conv.MutedUntil = &earlier }), ReasonMessage, true},
		{"mentions-only conversation, plain", group, rWith(func(x *NotifyRecipient) { x.Conv.MentionsOnly = true }), "", false},
		{"mentions-only conversation, mention", with(group, func(m *NotifyMessage) { m.Mentions = []string{"r"} }),
			rWith(func(x *NotifyRecipient) { x.Conv.MentionsOnly = true }), ReasonMention, true},
		{"level none", with(group, func(m *NotifyMessage) { m.Kind = KindDirect }),
			rWith(func(x *NotifyRecipient) { x.Prefs.Level = NotifyNone }), "", false},
		{"level mentions, plain", group, rWith(func(x *NotifyRecipient) { x.Prefs.Level = NotifyMentions }), "", false},
		{"level mentions, direct", with(group, func(m *NotifyMessage) { m.Kind = KindDirect }),
			rWith(func(x *NotifyRecipient) { x.Prefs.Level = NotifyMentions }), ReasonDirect, true},
		{"quiet hours", with(group, func(m *NotifyMessage) { m.Kind = KindDirect }),
			rWith(func(x *NotifyRecipient) { x.Prefs.QuietHours = &QuietHours{Start: "11:00", End: "13:00"} }), "", false},
		{"quiet hours elsewhere", with(group, func(m *NotifyMessage) { m.Kind = KindDirect }),
			rWith(func(x *NotifyRecipient) {
				x.Prefs.QuietHours = &QuietHours{Start: "11:00", End: "13:00"}
				x.Prefs.TimeZone = "Asia/Tokyo"
			}), ReasonDirect, true},
	}
	for _, c := range cases {
		reason, ok := NotifyFor(c.m, c.r)
		if reason != c.reason || ok != c.ok {
			t.Errorf("%s: got %q %v, want %q %v", c.name, reason, ok, c.reason, c.ok)
		}
	}
}

func TestMayMentionAll(t *testing.T) {
	if MayMentionAll(KindGroup, RoleMember) || !MayMentionAll(KindGroup, RoleAdmin) || !MayMentionAll(KindChannel, RoleOwner) ||
		MayMentionAll(KindDirect, RoleOwner) || MayMentionAll(KindGroup, "") {
		t.Fatal("MayMentionAll")
	}
}

func TestNotifyReasonStronger(t *testing.T) {
	if ReasonMessage.Stronger(ReasonMention) != ReasonMention || ReasonDirect.Stronger(ReasonMention) != ReasonDirect ||
		NotifyReason("").Stronger(ReasonMessage) != ReasonMessage {
		t.Fatal("Stronger")
	}
}

func TestNotifyBackoff(t *testing.T) {
	want := []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second}
	for i, w := range want {
		if got := NotifyBackoff(i); got != w {
			t.Errorf("attempt %d: %v, want %v", i, got, w)
		}
	}
	if NotifyBackoff(100) != time.Hour || NotifyBackoff(11) != time.Hour || NotifyBackoff(10) >= time.Hour {
		t.Errorf("cap: %v %v", NotifyBackoff(10), NotifyBackoff(11))
	}
}

func TestCheckPushEndpoint(t *testing.T) {
	good := []string{"https://fcm.googleapis.com/fcm/send/abc", "https://updates.push.services.mozilla.com/wpush/v2/x",
		"https://web.push.apple.com/QGz", "https://93.184.215.14/push", "https://push.example:8443/x"}
	for _, u := range good {
		if err := CheckPushEndpoint(u, false); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	long := "https://push.example/" + string(make([]byte, MaxPushEndpointLen))
	bad := map[string]Code{
		"":                               CodeInvalid,
		"http://push.example/x":          CodeInvalid,
		"ftp://push.example/x":           CodeInvalid,
		"https://127.0.0.1/x":            CodeInvalid,
		"https://127.1.2.3:8443/x":       CodeInvalid,
		"https://[::1]/x":                CodeInvalid,
		"https://[::ffff:10.0.0.1]/x":    CodeInvalid,
		"https://10.0.0.8/x":             CodeInvalid,
		"https://172.16.5.4/x":           CodeInvalid,
		"https://192.168.1.1/x":          CodeInvalid,
		"https://169.254.169.254/latest": CodeInvalid,
		"https://100.64.1.1/x":           CodeInvalid,
		"https://[fd12::1]/x":            CodeInvalid,
		"https://[fe80::1]/x":            CodeInvalid,
		"https://0.0.0.0/x":              CodeInvalid,
		"https://224.0.0.1/x":            CodeInvalid,
		"https://localhost/x":            CodeInvalid,
		"https://LOCALHOST./x":           CodeInvalid,
		"https://printer.local/x":        CodeInvalid,
		"https://db.internal/x":          CodeInvalid,
		"https://intranet/x":             CodeInvalid,
		"https://user:pw@push.example/x": CodeInvalid,
		"https://push.example/x#frag":    CodeInvalid,
		"/relative/path":                 CodeInvalid,
		"https:opaque":                   CodeInvalid,
		long:                             CodeTooLarge,
	}
	for u, code := range bad {
		if e := AsError(CheckPushEndpoint(u, false)); e == nil || e.Code != code || e.Field != "endpoint" {
			t.Errorf("%.60q: %v, want %s", u, e, code)
		}
	}
	if err := CheckPushEndpoint("http://127.0.0.1:9/x", true); err != nil {
		t.Errorf("allowInsecure: %v", err)
	}
}

func TestCleanPhone(t *testing.T) {
	for in, want := range map[string]string{"+33 6 12 34 56 78": "+33612345678", "+1 (415) 555-0100": "+14155550100", " +4915112345678 ": "+4915112345678"} {
		if got, err := CleanPhone(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0612345678", "+0612345678", "+123", "+1234567890123456", "+33 6 12 34 56 78 ext 9", "+33+612345678", "+٣٣٦١٢٣٤٥٦٧٨"} {
		if _, err := CleanPhone(in); err == nil || AsError(err).Field != "phone" {
			t.Errorf("%q accepted: %v", in, err)
		}
	}
}
