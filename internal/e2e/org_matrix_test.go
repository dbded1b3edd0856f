package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/e2ee"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/httpapi"
	"github.com/parley-chat/parley/internal/server"
)

// orgWorld is two organisations on one server: alpha (the attackers:
// aadmin, its organisation admin, and alice, a user, with alice2 in a group
// with her) and beta (the victims: bob, its organisation admin, and bob2,
// with everything they own). No route may show alpha anything of beta.
type orgWorld struct {
	alpha, beta                parley.Organisation
	aadmin, alice, alice2      *client.Client
	aadminU, aliceU, alice2U   parley.User
	bob, bob2                  *client.Client
	bobU, bob2U                parley.User
	groupA                     parley.Conversation // alice and alice2
	group, channel, direct     parley.Conversation // beta's
	msg                        parley.Message      // in group, by bob2, with a 👍
	file                       parley.Attachment   // bob's, sent in group
	upload                     parley.Upload       // bob's resumable upload, unfinished
	bot                        parley.User         // bob's
	token                      parley.APIToken
	inHook                     parley.IncomingWebhook
	outHook                    parley.OutgoingWebhook
	invite                     parley.Invite // beta's
	report                     parley.Report // bob2's, of bob
	bobSession, bobAppPassword string
	bobDevice                  string // bob's E2EE device (he also stored a key backup)
	// secrets are strings only beta's members may ever see.
	secrets []string
}

const orgSecretWord = "xylophonesecret"

func tinyPNG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func newOrgWorld(t *testing.T, env *apitest.Env) *orgWorld {
	t.Helper()
	ctx := context.Background()
	w := &orgWorld{}
	var err error
	for _, o := range []*parley.Organisation{&w.alpha, &w.beta} {
		slug := "alpha"
		if o == &w.beta {
			slug = "beta"
		}
		if *o, err = env.Server.App.CreateOrg(ctx, app.Operator, app.OrgInput{Slug: slug, Name: slug,
			Registration: parley.RegistrationOpen}); err != nil {
			t.Fatal(err)
		}
	}
	w.aadmin, w.aadminU = env.NewOrgUser(t, "alpha", "aadmin", parley.UserRoleAdmin)
	w.alice, w.aliceU = env.NewOrgUser(t, "alpha", "alice", parley.UserRoleUser)
	w.alice2, w.alice2U = env.NewOrgUser(t, "alpha", "alice2", parley.UserRoleUser)
	w.bob, w.bobU = env.NewOrgUser(t, "beta", "zebedee", parley.UserRoleAdmin)
	// bob2 registers himself, naming the organisation.
	w.bob2 = env.Client()
	res, err := w.bob2.Register(ctx, client.RegisterRequest{Username: "zanzibar", Password: apitest.Password, Organisation: "beta"})
	if err != nil || res.User.Org != w.beta.ID {
		t.Fatalf("register in beta: %+v %v", res.User, err)
	}
	w.bob2U = res.User

	if w.groupA, _, err = w.alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup,
		Title: "alpha group", MemberIDs: []string{w.alice2U.ID}}); err != nil {
		t.Fatal(err)
	}
	if w.group, _, err = w.bob.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup,
		Title: "beta group", MemberIDs: []string{w.bob2U.ID}}); err != nil {
		t.Fatal(err)
	}
	if w.channel, _, err = w.bob.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindChannel,
		Title: "general", Public: true}); err != nil {
		t.Fatal(err)
	}
	if w.direct, _, err = w.bob.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect,
		MemberIDs: []string{w.bob2U.ID}}); err != nil {
		t.Fatal(err)
	}
	if w.msg, _, err = w.bob2.Send(ctx, w.group.ID, client.SendRequest{ClientMsgID: "m1", Body: "the " + orgSecretWord}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.bob2.React(ctx, w.group.ID, w.msg.Seq, "👍"); err != nil {
		t.Fatal(err)
	}
	pic := tinyPNG(t)
	if w.file, err = w.bob.Upload(ctx, "plan.png", bytes.NewReader(pic), int64(len(pic))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.bob.Send(ctx, w.group.ID, client.SendRequest{ClientMsgID: "m2", Body: "file", AttachmentIDs: []string{w.file.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.bob.SetAvatar(ctx, bytes.NewReader(pic), int64(len(pic))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.bob.SetConversationAvatar(ctx, w.group.ID, bytes.NewReader(pic), int64(len(pic))); err != nil {
		t.Fatal(err)
	}
	if w.upload, err = w.bob.CreateUpload(ctx, "big.bin", 1000); err != nil {
		t.Fatal(err)
	}
	if w.bot, err = w.bob.CreateBot(ctx, "zebot", "Zebot"); err != nil {
		t.Fatal(err)
	}
	if w.token, _, err = w.bob.CreateAPIToken(ctx, w.bot.ID, "ci", parley.ScopeMessagesWrite); err != nil {
		t.Fatal(err)
	}
	if _, err := w.bob.AddMembers(ctx, w.group.ID, w.bot.ID); err != nil {
		t.Fatal(err)
	}
	if w.inHook, _, err = w.bob.CreateIncomingWebhook(ctx, w.bot.ID, w.group.ID); err != nil {
		t.Fatal(err)
	}
	if w.outHook, _, err = w.bob.CreateOutgoingWebhook(ctx, w.bot.ID, "https://example.org/hook"); err != nil {
		t.Fatal(err)
	}
	if w.invite, err = w.bob.CreateInvite(ctx, client.CreateInviteRequest{MaxUses: 3, Note: "for beta"}); err != nil || w.invite.Org != w.beta.ID {
		t.Fatalf("beta invite %+v %v", w.invite, err)
	}
	if w.report, err = w.bob.ReportMessage(ctx, w.group.ID, w.msg.Seq, "spam"); err != nil {
		t.Fatal(err)
	}
	ss, err := w.bob.Sessions(ctx)
	if err != nil || len(ss) == 0 {
		t.Fatalf("sessions %v %v", ss, err)
	}
	w.bobSession = ss[0].ID
	ap, _, err := w.bob.CreateAppPassword(ctx, "phone", apitest.Password)
	if err != nil {
		t.Fatal(err)
	}
	w.bobAppPassword = ap.ID
	x, err := w.bob.EnableE2EE(ctx, &e2ee.MemStore{}, "zebedee's laptop")
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Backup(ctx, "a long enough passphrase"); err != nil {
		t.Fatal(err)
	}
	w.bobDevice = x.DeviceID()
	// Beta closes its door once its people are in.
	inv := parley.RegistrationInvite
	if _, err := w.bob.UpdateOrg(ctx, w.beta.ID, client.OrgUpdate{Registration: &inv}); err != nil {
		t.Fatal(err)
	}
	w.secrets = []string{w.bobU.ID, w.bob2U.ID, w.bobU.Username, w.bob2U.Username, w.group.ID, w.channel.ID,
		w.direct.ID, w.msg.ID, orgSecretWord, w.file.ID, w.upload.ID, w.bot.ID, w.bot.Username, w.token.ID,
		w.inHook.ID, w.outHook.ID, w.invite.ID, w.invite.Code, w.report.ID, w.beta.ID, w.bobSession, w.bobAppPassword, w.bobDevice}
	return w
}

// orgCase is one request by an alpha user. deny: it names beta's things
// and must be refused (403 or 404) without touching them; otherwise it is
// alpha's own business and its answer, whatever the status, must contain
// none of beta's secrets.
type orgCase struct {
	path, body string
	deny       bool
}

// orgExempt are the routes the matrix does not call, and why.
var orgExempt = map[string]string{
	"GET /api/v1/ws":                         "the WebSocket: TestOrgIsolationRealtime",
	"POST /api/v1/hooks/{id}/{secret}":       "the secret in the path is the credential (docs/bots.md); it posts as beta's bot into beta's conversation and answers nothing of it",
	"PUT /api/v1/files/slots/{token}/{name}": "a signed upload slot: the token is the credential (XMPP HTTP upload)",
	"GET /api/v1/files/{id}/{sig}/{name}":    "a signed file URL: the signature is the credential (docs/media.md)",
	"POST /api/v1/auth/login":                "usernames are unique server-wide and sign-in answers only the caller's own account (docs/organisations.md)",
	"POST /api/v1/auth/login/2fa":            "sign-in with a challenge token: the caller's own account",
	"POST /api/v1/auth/login/2fa/setup":      "sign-in with a challenge token: the caller's own account",
	"POST /api/v1/auth/logout":               "ends the caller's own session (would end the matrix's)",
	"POST /api/v1/me/password":               "the caller's own password (would end the matrix's other sessions)",
}

func orgCases(w *orgWorld) map[string][]orgCase {
	id := func(s string) string { return url.PathEscape(s) }
	g, c, d, ga := "/api/v1/conversations/"+w.group.ID, "/api/v1/conversations/"+w.channel.ID, "/api/v1/conversations/"+w.direct.ID,
		"/api/v1/conversations/"+w.groupA.ID
	m := fmt.Sprintf("%s/messages/%d", g, w.msg.Seq)
	bob, bob2 := w.bobU.ID, w.bob2U.ID
	deny := func(path, body string) orgCase { return orgCase{path: path, body: body, deny: true} }
	scan := func(path, body string) orgCase { return orgCase{path: path, body: body} }
	userBody := `{"user_id":"` + bob + `"}`
	bot := "/api/v1/bots/" + w.bot.ID
	return map[string][]orgCase{
		// Accounts and directory.
		"POST /api/v1/auth/register": {deny("/api/v1/auth/register", `{"username":"intruder","password":"long enough pw","organisation":"beta"}`),
			deny("/api/v1/auth/register", `{"username":"intruder2","password":"long enough pw","invite":"`+w.invite.Code+`","organisation":"alpha"}`)},
		"GET /api/v1/me":                           {scan("/api/v1/me", "")},
		"PATCH /api/v1/me":                         {scan("/api/v1/me", `{"status_text":"hi"}`)},
		"GET /api/v1/me/sessions":                  {scan("/api/v1/me/sessions", "")},
		"DELETE /api/v1/me/sessions/{id}":          {deny("/api/v1/me/sessions/"+w.bobSession, "")},
		"GET /api/v1/users":                        {scan("/api/v1/users?prefix=z", ""), scan("/api/v1/users?ids="+bob+","+bob2, ""), scan("/api/v1/users", "")},
		"GET /api/v1/users/{id}":                   {deny("/api/v1/users/"+bob, "")},
		"GET /api/v1/users/{id}/avatar":            {deny("/api/v1/users/"+bob+"/avatar", "")},
		"GET /api/v1/avatars":                      {scan("/api/v1/avatars?user_ids="+bob+","+bob2, "")},
		"PUT /api/v1/me/avatar":                    {scan("/api/v1/me/avatar", "")},
		"GET /api/v1/people":                       {scan("/api/v1/people?q=z", ""), scan("/api/v1/people?q=zebede", ""), scan("/api/v1/people?q=zanzibr", "")},
		"GET /api/v1/me/privacy":                   {scan("/api/v1/me/privacy", "")},
		"PUT /api/v1/me/privacy":                   {scan("/api/v1/me/privacy", `{"find_me":"everyone","direct_from":"everyone"}`)},
		"GET /api/v1/me/export":                    {scan("/api/v1/me/export", "")},
		"GET /api/v1/me/app-passwords":             {scan("/api/v1/me/app-passwords", "")},
		"POST /api/v1/me/app-passwords":            {scan("/api/v1/me/app-passwords", `{"name":"x","password":"`+apitest.Password+`"}`)},
		"DELETE /api/v1/me/app-passwords/{id}":     {deny("/api/v1/me/app-passwords/"+w.bobAppPassword, "")},
		"GET /api/v1/me/2fa":                       {scan("/api/v1/me/2fa", "")},
		"POST /api/v1/me/2fa/setup":                {scan("/api/v1/me/2fa/setup", `{"password":"wrong password"}`)},
		"POST /api/v1/me/2fa/confirm":              {scan("/api/v1/me/2fa/confirm", `{"code":"000000"}`)},
		"POST /api/v1/me/2fa/disable":              {scan("/api/v1/me/2fa/disable", `{"password":"wrong password","code":"000000"}`)},
		"POST /api/v1/me/2fa/recovery-codes":       {scan("/api/v1/me/2fa/recovery-codes", `{"password":"wrong password","code":"000000"}`)},
		"GET /api/v1/me/email":                     {scan("/api/v1/me/email", "")},
		"POST /api/v1/me/email/verify":             {scan("/api/v1/me/email/verify", `{}`)},
		"GET /api/v1/me/phone":                     {scan("/api/v1/me/phone", "")},
		"POST /api/v1/me/phone":                    {scan("/api/v1/me/phone", `{"phone":""}`)},
		"POST /api/v1/me/phone/verify":             {scan("/api/v1/me/phone/verify", `{"code":"000000"}`)},
		"POST /api/v1/auth/verify-email":           {scan("/api/v1/auth/verify-email", `{"token":"nope"}`)},
		"POST /api/v1/auth/verify-email/resend":    {scan("/api/v1/auth/verify-email/resend", `{"username":"zebedee"}`)},
		"POST /api/v1/auth/password-reset":         {scan("/api/v1/auth/password-reset", `{"username":"zebedee"}`)},
		"POST /api/v1/auth/password-reset/confirm": {scan("/api/v1/auth/password-reset/confirm", `{"token":"nope","password":"long enough pw"}`)},
		"GET /healthz":                             {scan("/healthz", "")},
		"GET /readyz":                              {scan("/readyz", "")},
		"GET /metrics":                             {scan("/metrics", "")},
		"GET /api/v1/openapi.json":                 {scan("/api/v1/openapi.json", "")},
		"GET /api/v1/asyncapi.json":                {scan("/api/v1/asyncapi.json", "")},
		"GET /api/v1/calls/ice-servers":            {scan("/api/v1/calls/ice-servers", "")},

		// Contacts and blocks.
		"GET /api/v1/contacts":                             {scan("/api/v1/contacts", "")},
		"DELETE /api/v1/contacts/{user_id}":                {deny("/api/v1/contacts/"+bob, "")},
		"GET /api/v1/contacts/requests":                    {scan("/api/v1/contacts/requests", "")},
		"POST /api/v1/contacts/requests":                   {deny("/api/v1/contacts/requests", userBody)},
		"POST /api/v1/contacts/requests/{user_id}/accept":  {deny("/api/v1/contacts/requests/"+bob+"/accept", "")},
		"POST /api/v1/contacts/requests/{user_id}/decline": {deny("/api/v1/contacts/requests/"+bob+"/decline", "")},
		"DELETE /api/v1/contacts/requests/{user_id}":       {deny("/api/v1/contacts/requests/"+bob, "")},
		"GET /api/v1/contacts/suggestions":                 {scan("/api/v1/contacts/suggestions", "")},
		"GET /api/v1/blocks":                               {scan("/api/v1/blocks", "")},
		"PUT /api/v1/blocks/{user_id}":                     {deny("/api/v1/blocks/"+bob, "")},
		"DELETE /api/v1/blocks/{user_id}":                  {deny("/api/v1/blocks/"+bob, "")},

		// Conversations.
		"POST /api/v1/conversations": {deny("/api/v1/conversations", `{"kind":"direct","member_ids":["`+bob+`"]}`),
			deny("/api/v1/conversations", `{"kind":"group","title":"mixed","member_ids":["`+bob+`","`+w.alice2U.ID+`"]}`)},
		"GET /api/v1/conversations":              {scan("/api/v1/conversations", "")},
		"GET /api/v1/channels":                   {scan("/api/v1/channels", ""), scan("/api/v1/channels?q=gen", "")},
		"GET /api/v1/conversations/{id}":         {deny(g, ""), deny(c, ""), deny(d, "")},
		"PATCH /api/v1/conversations/{id}":       {deny(g, `{"topic":"mine"}`), deny(c, `{"topic":"mine"}`)},
		"GET /api/v1/conversations/{id}/members": {deny(g+"/members", ""), deny(c+"/members", "")},
		"POST /api/v1/conversations/{id}/members": {deny(c+"/members", `{"user_ids":["`+w.aliceU.ID+`"]}`),
			deny(g+"/members", `{"user_ids":["`+w.aliceU.ID+`"]}`), deny(ga+"/members", `{"user_ids":["`+bob+`"]}`)},
		"PATCH /api/v1/conversations/{id}/members/{user_id}": {deny(g+"/members/"+bob2, `{"role":"admin"}`),
			deny(ga+"/members/"+bob, `{"role":"admin"}`)},
		"DELETE /api/v1/conversations/{id}/members/{user_id}": {deny(g+"/members/"+bob2, ""), deny(c+"/members/me", ""),
			deny(ga+"/members/"+bob, "")},
		"GET /api/v1/conversations/{id}/avatar":           {deny(g+"/avatar", "")},
		"PUT /api/v1/conversations/{id}/avatar":           {deny(g+"/avatar", "")},
		"GET /api/v1/conversations/{id}/stats":            {deny(g+"/stats", ""), deny(c+"/stats", "")},
		"GET /api/v1/conversations/{id}/retention":        {deny(g+"/retention", "")},
		"PUT /api/v1/conversations/{id}/retention":        {deny(g+"/retention", `{"days":1}`)},
		"PUT /api/v1/admin/conversations/{id}/legal-hold": {deny("/api/v1/admin/conversations/"+w.group.ID+"/legal-hold", `{"hold":true}`)},
		"GET /api/v1/conversations/{id}/notifications":    {deny(g+"/notifications", "")},
		"PUT /api/v1/conversations/{id}/notifications":    {deny(g+"/notifications", `{"mentions_only":true}`)},
		"POST /api/v1/conversations/{id}/read":            {deny(g+"/read", `{"seq":1}`)},
		"POST /api/v1/conversations/{id}/delivered":       {deny(g+"/delivered", `{"seq":1}`)},
		"GET /api/v1/conversations/{id}/receipts":         {deny(g+"/receipts", "")},
		"POST /api/v1/conversations/{id}/commands":        {deny(g+"/commands", `{"command":"zebot","text":"hi"}`)},

		// Messages.
		"POST /api/v1/conversations/{id}/messages": {deny(g+"/messages", `{"client_msg_id":"x1","body":"hi"}`),
			deny(c+"/messages", `{"client_msg_id":"x2","body":"hi"}`), deny(d+"/messages", `{"client_msg_id":"x3","body":"hi"}`)},
		"GET /api/v1/conversations/{id}/messages":                            {deny(g+"/messages", ""), deny(c+"/messages", "")},
		"GET /api/v1/conversations/{id}/messages/{seq}":                      {deny(m, "")},
		"PATCH /api/v1/conversations/{id}/messages/{seq}":                    {deny(m, `{"body":"mine"}`)},
		"DELETE /api/v1/conversations/{id}/messages/{seq}":                   {deny(m, "")},
		"GET /api/v1/conversations/{id}/messages/{seq}/versions":             {deny(m+"/versions", "")},
		"GET /api/v1/conversations/{id}/messages/{seq}/context":              {deny(m+"/context", "")},
		"PUT /api/v1/conversations/{id}/messages/{seq}/reactions/{emoji}":    {deny(m+"/reactions/"+id("🎉"), "")},
		"DELETE /api/v1/conversations/{id}/messages/{seq}/reactions/{emoji}": {deny(m+"/reactions/"+id("👍"), "")},
		"GET /api/v1/search/messages": {scan("/api/v1/search/messages?q="+orgSecretWord, ""), deny("/api/v1/search/messages?q="+url.QueryEscape("the in:"+w.group.ID), ""),
			scan("/api/v1/search/messages?q=the&from=zanzibar", "")},

		// Files.
		"POST /api/v1/attachments":               {scan("/api/v1/attachments", "")},
		"GET /api/v1/attachments/{id}":           {deny("/api/v1/attachments/"+w.file.ID, "")},
		"DELETE /api/v1/attachments/{id}":        {deny("/api/v1/attachments/"+w.file.ID, "")},
		"GET /api/v1/attachments/{id}/content":   {deny("/api/v1/attachments/"+w.file.ID+"/content", "")},
		"GET /api/v1/attachments/{id}/thumbnail": {deny("/api/v1/attachments/"+w.file.ID+"/thumbnail", "")},
		"POST /api/v1/attachments/{id}/link":     {deny("/api/v1/attachments/"+w.file.ID+"/link", "")},
		"POST /api/v1/uploads":                   {scan("/api/v1/uploads", `{"name":"x","size":10}`)},
		"GET /api/v1/uploads/{id}":               {deny("/api/v1/uploads/"+w.upload.ID, "")},
		"PUT /api/v1/uploads/{id}":               {deny("/api/v1/uploads/"+w.upload.ID+"?offset=0", "x")},
		"DELETE /api/v1/uploads/{id}":            {deny("/api/v1/uploads/"+w.upload.ID, "")},
		"POST /api/v1/uploads/{id}/complete":     {deny("/api/v1/uploads/"+w.upload.ID+"/complete", "")},

		// Moderation and reports.
		"POST /api/v1/conversations/{id}/moderation/mute":   {deny(g+"/moderation/mute", `{"user_id":"`+bob2+`","duration_seconds":60}`), deny(ga+"/moderation/mute", `{"user_id":"`+bob+`","duration_seconds":60}`)},
		"POST /api/v1/conversations/{id}/moderation/unmute": {deny(g+"/moderation/unmute", `{"user_id":"`+bob2+`"}`)},
		"POST /api/v1/conversations/{id}/moderation/kick":   {deny(g+"/moderation/kick", `{"user_id":"`+bob2+`"}`), deny(ga+"/moderation/kick", userBody)},
		"GET /api/v1/conversations/{id}/bans":               {deny(g+"/bans", "")},
		"POST /api/v1/conversations/{id}/bans":              {deny(g+"/bans", `{"user_id":"`+bob2+`"}`), deny(ga+"/bans", userBody)},
		"DELETE /api/v1/conversations/{id}/bans/{user_id}":  {deny(g+"/bans/"+bob2, "")},
		"GET /api/v1/conversations/{id}/rules":              {deny(g+"/rules", "")},
		"PUT /api/v1/conversations/{id}/rules":              {deny(g+"/rules", `{"slow_mode_seconds":5}`)},
		"GET /api/v1/admin/content-rules":                   {deny("/api/v1/admin/content-rules", "")},
		"PUT /api/v1/admin/content-rules":                   {deny("/api/v1/admin/content-rules", `{"deny_words":[]}`)},
		"POST /api/v1/reports": {deny("/api/v1/reports", `{"conversation_id":"`+w.group.ID+`","seq":`+fmt.Sprint(w.msg.Seq)+`,"reason":"spam"}`),
			deny("/api/v1/reports", `{"user_id":"`+bob+`","reason":"spam"}`)},
		"GET /api/v1/reports":               {deny("/api/v1/reports", "")},
		"GET /api/v1/reports/mine":          {scan("/api/v1/reports/mine", "")},
		"POST /api/v1/reports/{id}/resolve": {deny("/api/v1/reports/"+w.report.ID+"/resolve", `{"action":"dismiss"}`)},

		// Notifications and push: the caller's own.
		"GET /api/v1/me/notifications":           {scan("/api/v1/me/notifications", "")},
		"PUT /api/v1/me/notifications":           {scan("/api/v1/me/notifications", `{"level":"mentions"}`)},
		"GET /api/v1/push/vapid-key":             {scan("/api/v1/push/vapid-key", "")},
		"GET /api/v1/push/subscriptions":         {scan("/api/v1/push/subscriptions", "")},
		"POST /api/v1/push/subscriptions":        {scan("/api/v1/push/subscriptions", `{}`)},
		"DELETE /api/v1/push/subscriptions/{id}": {deny("/api/v1/push/subscriptions/"+parley.NewID(), "")},
		"GET /api/v1/push/devices":               {scan("/api/v1/push/devices", "")},
		"POST /api/v1/push/devices":              {scan("/api/v1/push/devices", `{}`)},
		"DELETE /api/v1/push/devices/{id}":       {deny("/api/v1/push/devices/"+parley.NewID(), "")},

		// Bots and webhooks.
		"GET /api/v1/bots":                                             {scan("/api/v1/bots", "")},
		"POST /api/v1/bots":                                            {scan("/api/v1/bots", `{"username":"alphabot"}`)},
		"DELETE /api/v1/bots/{id}":                                     {deny(bot, "")},
		"GET /api/v1/bots/{id}/tokens":                                 {deny(bot+"/tokens", "")},
		"POST /api/v1/bots/{id}/tokens":                                {deny(bot+"/tokens", `{"name":"x","scopes":["messages:write"]}`)},
		"DELETE /api/v1/bots/{id}/tokens/{token_id}":                   {deny(bot+"/tokens/"+w.token.ID, "")},
		"GET /api/v1/bots/{id}/incoming-webhooks":                      {deny(bot+"/incoming-webhooks", "")},
		"POST /api/v1/bots/{id}/incoming-webhooks":                     {deny(bot+"/incoming-webhooks", `{"conversation_id":"`+w.group.ID+`"}`)},
		"DELETE /api/v1/bots/{id}/incoming-webhooks/{hook_id}":         {deny(bot+"/incoming-webhooks/"+w.inHook.ID, "")},
		"GET /api/v1/bots/{id}/outgoing-webhooks":                      {deny(bot+"/outgoing-webhooks", "")},
		"POST /api/v1/bots/{id}/outgoing-webhooks":                     {deny(bot+"/outgoing-webhooks", `{"url":"https://example.org/x"}`)},
		"DELETE /api/v1/bots/{id}/outgoing-webhooks/{hook_id}":         {deny(bot+"/outgoing-webhooks/"+w.outHook.ID, "")},
		"GET /api/v1/bots/{id}/outgoing-webhooks/{hook_id}/deliveries": {deny(bot+"/outgoing-webhooks/"+w.outHook.ID+"/deliveries", "")},
		// End-to-end encryption: beta's device keys and bundles are beta's; the
		// device and backup routes act on the caller's own.
		"GET /api/v1/e2ee/users/{user_id}/devices":                  {deny("/api/v1/e2ee/users/"+bob+"/devices", "")},
		"POST /api/v1/e2ee/users/{user_id}/bundles":                 {deny("/api/v1/e2ee/users/"+bob+"/bundles", "")},
		"DELETE /api/v1/e2ee/devices/{device_id}":                   {deny("/api/v1/e2ee/devices/"+w.bobDevice, "")},
		"GET /api/v1/e2ee/devices/{device_id}/prekey_count":         {deny("/api/v1/e2ee/devices/"+w.bobDevice+"/prekey_count", "")},
		"PUT /api/v1/e2ee/devices/{device_id}/signed_prekey":        {deny("/api/v1/e2ee/devices/"+w.bobDevice+"/signed_prekey", `{"id":9,"key":"AAAA","sig":"AAAA"}`)},
		"POST /api/v1/e2ee/devices/{device_id}/one_time_prekeys":    {deny("/api/v1/e2ee/devices/"+w.bobDevice+"/one_time_prekeys", `{"one_time_prekeys":[{"id":7,"key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]}`)},
		"POST /api/v1/e2ee/devices":                                 {scan("/api/v1/e2ee/devices", `{"name":"x"}`)},
		"GET /api/v1/e2ee/backup":                                   {scan("/api/v1/e2ee/backup", "")},
		"PUT /api/v1/e2ee/backup":                                   {scan("/api/v1/e2ee/backup", `{"v":1}`)},
		"DELETE /api/v1/e2ee/backup":                                {scan("/api/v1/e2ee/backup", "")},
		"POST /api/v1/bots/{id}/disable":                            {deny(bot+"/disable", "")},
		"POST /api/v1/bots/{id}/enable":                             {deny(bot+"/enable", "")},
		"POST /api/v1/bots/{id}/outgoing-webhooks/{hook_id}/enable": {deny(bot+"/outgoing-webhooks/"+w.outHook.ID+"/enable", "")},

		// Administration: organisation admins manage their own organisation only.
		"GET /api/v1/admin/overview":              {deny("/api/v1/admin/overview", "")},
		"GET /api/v1/admin/audit":                 {deny("/api/v1/admin/audit", "")},
		"GET /api/v1/admin/users":                 {scan("/api/v1/admin/users", ""), scan("/api/v1/admin/users?prefix=z", "")},
		"POST /api/v1/admin/users":                {deny("/api/v1/admin/users", `{"username":"plant","password":"long enough pw","organisation":"beta"}`)},
		"GET /api/v1/admin/users/{id}":            {deny("/api/v1/admin/users/"+bob2, "")},
		"DELETE /api/v1/admin/users/{id}":         {deny("/api/v1/admin/users/"+bob2, "")},
		"GET /api/v1/admin/users/{id}/sessions":   {deny("/api/v1/admin/users/"+bob+"/sessions", "")},
		"POST /api/v1/admin/users/{id}/password":  {deny("/api/v1/admin/users/"+bob+"/password", `{"password":"long enough pw"}`)},
		"POST /api/v1/admin/users/{id}/role":      {deny("/api/v1/admin/users/"+bob2+"/role", `{"role":"admin"}`)},
		"POST /api/v1/admin/users/{id}/disable":   {deny("/api/v1/admin/users/"+bob2+"/disable", "")},
		"POST /api/v1/admin/users/{id}/enable":    {deny("/api/v1/admin/users/"+bob2+"/enable", "")},
		"POST /api/v1/admin/users/{id}/2fa/reset": {deny("/api/v1/admin/users/"+bob+"/2fa/reset", "")},
		"GET /api/v1/admin/invites":               {scan("/api/v1/admin/invites", "")},
		"POST /api/v1/admin/invites":              {deny("/api/v1/admin/invites", `{"org_id":"`+w.beta.ID+`"}`)},
		"POST /api/v1/admin/invites/{id}/revoke":  {deny("/api/v1/admin/invites/"+w.invite.ID+"/revoke", "")},
		"GET /api/v1/admin/orgs":                  {scan("/api/v1/admin/orgs", "")},
		"POST /api/v1/admin/orgs":                 {deny("/api/v1/admin/orgs", `{"slug":"gamma","name":"Gamma"}`)},
		"GET /api/v1/admin/orgs/{id}":             {deny("/api/v1/admin/orgs/"+w.beta.ID, "")},
		"PATCH /api/v1/admin/orgs/{id}":           {deny("/api/v1/admin/orgs/"+w.beta.ID, `{"registration":"open"}`)},
	}
}

// openAPIRoutes lists "METHOD /template" for every operation of the
// OpenAPI document.
func openAPIRoutes(t *testing.T) []string {
	raw, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for p, ops := range doc.Paths {
		for m := range ops {
			switch m {
			case "get", "post", "put", "patch", "delete":
				out = append(out, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// orgCall sends one request (token "" for none) and returns the status
// and the body.
func orgCall(t *testing.T, env *apitest.Env, method, path, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestOrgIsolationMatrix: for every route of the OpenAPI document (a new
// route without a case or an exemption fails the test), an organisation
// admin and a user of alpha, given beta's ids, are refused with 403 or 404,
// and every answer they get about their own things contains none of beta's
// ids, names or words. Beta's world is intact afterwards.
func TestOrgIsolationMatrix(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.SendRate = 1e6 })
	w := newOrgWorld(t, env)
	cases := orgCases(w)
	for _, r := range openAPIRoutes(t) {
		_, covered := cases[r]
		if _, exempt := orgExempt[r]; !covered && !exempt {
			t.Errorf("route %s has no cross-organisation case: add one to orgCases (or an exemption with its reason)", r)
		}
	}
	for r := range cases {
		if _, ok := orgExempt[r]; ok {
			t.Errorf("route %s is both exempt and covered", r)
		}
	}
	routes := openAPIRoutes(t)
	for _, who := range []struct {
		name string
		c    *client.Client
	}{{"alpha admin", w.aadmin}, {"alpha user", w.alice}} {
		for _, r := range routes {
			method := strings.SplitN(r, " ", 2)[0]
			for i, tc := range cases[r] {
				status, body := orgCall(t, env, method, tc.path, who.c.Token(), tc.body)
				if tc.deny && status != http.StatusForbidden && status != http.StatusNotFound {
					t.Errorf("%s: %s case %d (%s): status %d, want 403 or 404: %.300s", who.name, r, i, tc.path, status, body)
					continue
				}
				if tc.deny {
					continue // an error may echo the id the caller sent
				}
				for _, s := range w.secrets {
					if strings.Contains(body, s) {
						t.Errorf("%s: %s case %d (%s): status %d, answer shows beta's %q: %.300s", who.name, r, i, tc.path, status, s, body)
					}
				}
			}
		}
	}

	// Beta is untouched: its members, message, file, bot and settings.
	ctx := context.Background()
	ms, err := w.bob.Members(ctx, w.group.ID, "", 100)
	if err != nil || len(ms.Members) != 3 {
		t.Fatalf("beta group members after the matrix: %+v %v", ms, err)
	}
	if got, err := w.bob.Message(ctx, w.group.ID, w.msg.Seq); err != nil || got.Deleted || got.Body != w.msg.Body {
		t.Fatalf("beta message after the matrix: %+v %v", got, err)
	}
	if _, err := w.bob.Attachment(ctx, w.file.ID); err != nil {
		t.Fatalf("beta file after the matrix: %v", err)
	}
	orgs, err := w.bob.Orgs(ctx)
	if err != nil || len(orgs) != 1 || orgs[0].ID != w.beta.ID || orgs[0].Registration != parley.RegistrationInvite {
		t.Fatalf("beta organisation after the matrix: %+v %v", orgs, err)
	}
	if us, err := w.bob.SearchUsers(ctx, "", "", 100); err != nil || len(us.Users) != 3 {
		t.Fatalf("beta directory after the matrix: %+v %v (want zebedee, zanzibar, zebot)", us, err)
	}
	// And alpha never got in: no account called intruder or plant exists.
	for _, name := range []string{"intruder", "intruder2", "plant"} {
		if _, err := env.Server.App.FindUser(ctx, app.Operator, name); !parley.IsCode(err, parley.CodeNotFound) {
			t.Errorf("account %s exists: %v", name, err)
		}
	}
}

// TestOrgIsolationRealtime: nothing beta's members do — connecting
// (presence), typing, sending, reading, reacting — reaches a socket of
// alpha, and alpha cannot watch beta's presence. The barrier is a message
// in alpha's own group, published after everything beta did.
func TestOrgIsolationRealtime(t *testing.T) {
	env := apitest.Start(t, func(c *server.Config) { c.SendRate = 1e6 })
	w := newOrgWorld(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rtA, err := w.alice.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rtA.Close()
	if st, err := rtA.WatchPresence(ctx, w.bobU.ID, w.bob2U.ID); err != nil || len(st) != 0 {
		t.Fatalf("alice watches beta's presence: %+v %v", st, err)
	}
	rtB, err := w.bob.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rtB.Close()
	rtB2, err := w.bob2.Connect(ctx, client.RealtimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rtB2.Close()
	if err := rtB.Typing(ctx, w.group.ID, true); err != nil {
		t.Fatal(err)
	}
	for i, conv := range []string{w.group.ID, w.channel.ID, w.direct.ID} {
		m, err := rtB.SendMessage(ctx, conv, fmt.Sprint("rt", i), "again the "+orgSecretWord)
		if err != nil {
			t.Fatal(err)
		}
		if conv == w.group.ID {
			if _, err := rtB2.MarkRead(ctx, conv, m.Seq); err != nil {
				t.Fatal(err)
			}
			if _, err := w.bob2.React(ctx, conv, m.Seq, "🎉"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := w.bob.Send(ctx, w.group.ID, client.SendRequest{ClientMsgID: "rt-mention", Body: "@alice " + orgSecretWord}); err != nil {
		t.Fatal(err)
	}
	barrier, _, err := w.alice2.Send(ctx, w.groupA.ID, client.SendRequest{ClientMsgID: "barrier", Body: "barrier"})
	if err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case ev, ok := <-rtA.Events():
			if !ok {
				t.Fatal("alice's session ended")
			}
			for _, s := range w.secrets {
				if strings.Contains(string(ev.Raw), s) {
					t.Errorf("alice's socket got a %s frame showing beta's %q: %s", ev.Type, s, ev.Raw)
				}
			}
			done = ev.Type == "message" && ev.Message != nil && ev.Message.ID == barrier.ID
		case <-timeout:
			t.Fatal("the barrier message never reached alice")
		}
	}
}

// TestOrgEndpointsBadInput: the organisation endpoints and the new
// registration field refuse missing, malformed, too long, wrong-typed and
// unknown input with the field named, and store nothing.
func TestOrgEndpointsBadInput(t *testing.T) {
	env := apitest.Start(t, nil)
	root, _ := env.NewAdmin(t, "root")
	tok := root.Token()
	long := strings.Repeat("a", 33)
	for _, tc := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"POST", "/api/v1/admin/orgs", `{}`, 400, "slug"},
		{"POST", "/api/v1/admin/orgs", `{"slug":"` + long + `","name":"x"}`, 413, "slug"},
		{"POST", "/api/v1/admin/orgs", `{"slug":"-x-","name":"x"}`, 400, "slug"},
		{"POST", "/api/v1/admin/orgs", `{"slug":"ok","name":""}`, 400, "name"},
		{"POST", "/api/v1/admin/orgs", `{"slug":"ok","name":"` + strings.Repeat("n", 65) + `"}`, 413, "name"},
		{"POST", "/api/v1/admin/orgs", `{"slug":"ok","name":5}`, 400, ""},
		{"POST", "/api/v1/admin/orgs", `{"slug":"ok","name":"x","registration":"maybe"}`, 400, "registration"},
		{"POST", "/api/v1/admin/orgs", `{"slug":"ok","name":"x","limits":{"max_users":-1}}`, 400, "limits.max_users"},
		{"POST", "/api/v1/admin/orgs", `{"slug":"ok","name":"x","colour":"red"}`, 400, ""},
		{"POST", "/api/v1/admin/orgs", `{"slug":"default","name":"again"}`, 409, "slug"},
		{"PATCH", "/api/v1/admin/orgs/" + parley.NewID(), `{"name":"x"}`, 404, ""},
		{"PATCH", "/api/v1/admin/orgs/not-an-id", `{"name":"x"}`, 404, ""},
		{"PATCH", "/api/v1/admin/orgs/" + parley.DefaultOrgID, `{"registration":"closed"}`, 400, "registration"},
		{"PATCH", "/api/v1/admin/orgs/" + parley.DefaultOrgID, `{"limits":{"max_message_chars":-5}}`, 400, "limits.max_message_chars"},
		{"PATCH", "/api/v1/admin/orgs/" + parley.DefaultOrgID, `{"require_2fa":"yes"}`, 400, ""},
		{"GET", "/api/v1/admin/orgs/" + parley.NewID(), "", 404, ""},
		{"POST", "/api/v1/admin/invites", `{"org_id":"` + parley.NewID() + `"}`, 404, "org_id"},
		{"POST", "/api/v1/admin/users", `{"username":"nobody","password":"long enough pw","organisation":"nope"}`, 404, "organisation"},
		{"POST", "/api/v1/auth/register", `{"username":"nobody","password":"long enough pw","organisation":"nope"}`, 404, "organisation"},
		{"POST", "/api/v1/auth/register", `{"username":"nobody","password":"long enough pw","organisation":"` + long + `"}`, 413, "organisation"},
		{"POST", "/api/v1/auth/register", `{"username":"nobody","password":"long enough pw","organisation":7}`, 400, ""},
	} {
		status, body := orgCall(t, env, tc.method, tc.path, tok, tc.body)
		if status != tc.status || tc.field != "" && !strings.Contains(body, `"field":"`+tc.field+`"`) {
			t.Errorf("%s %s %s: %d %s; want %d naming %q", tc.method, tc.path, tc.body, status, body, tc.status, tc.field)
		}
	}
	orgs, err := root.Orgs(context.Background())
	if err != nil || len(orgs) != 1 || orgs[0].Slug != "default" || orgs[0].Name != "Default" {
		t.Fatalf("organisations after the bad input: %+v %v", orgs, err)
	}
	if _, err := env.Server.App.FindUser(context.Background(), app.Operator, "nobody"); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("nobody exists: %v", err)
	}
}
