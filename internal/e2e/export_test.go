package e2e_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apitest"
	"github.com/parley-chat/parley/internal/server"
)

// The data export: a zip with the account, conversations, every message
// the person wrote (nobody else's) and the files they uploaded, byte for
// byte; limited per person; not for tokens.
func TestDataExport(t *testing.T) {
	twoFactorStores(t, func(t *testing.T, configure func(*server.Config)) {
		env := apitest.Start(t, configure)
		ctx := context.Background()
		alice, aliceU := env.NewUser(t, "alice")
		bob, bobU := env.NewUser(t, "bob")
		g, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindGroup, Title: "g",
			MemberIDs: []string{bobU.ID}})
		if err != nil {
			t.Fatal(err)
		}
		dm, _, err := alice.CreateConversation(ctx, client.CreateConversationRequest{Kind: parley.KindDirect, MemberIDs: []string{bobU.ID}})
		if err != nil {
			t.Fatal(err)
		}
		content := []byte("hello file\x00\x01 with bytes")
		att, err := alice.Upload(ctx, "../../notes.txt", bytes.NewReader(content), int64(len(content)))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := alice.Send(ctx, g.ID, client.SendRequest{Body: "with a file", AttachmentIDs: []string{att.ID}}); err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{"one", "two"} {
			if _, _, err := alice.Send(ctx, dm.ID, client.SendRequest{Body: body}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := bob.Send(ctx, g.ID, client.SendRequest{Body: "bob's, not alice's"}); err != nil {
			t.Fatal(err)
		}

		d, err := alice.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(d.Body)
		d.Body.Close()
		if err != nil || d.ContentType != "application/zip" || !strings.Contains(d.Disposition, "parley-export-alice-") {
			t.Fatalf("export: %v %q %q", err, d.ContentType, d.Disposition)
		}
		z, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, f := range z.File {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name], _ = io.ReadAll(r)
			r.Close()
		}
		var account struct {
			User     parley.User      `json:"user"`
			Sessions []parley.Session `json:"sessions"`
		}
		if err := json.Unmarshal(files["account.json"], &account); err != nil || account.User.ID != aliceU.ID ||
			account.User.Email != aliceU.Email || len(account.Sessions) == 0 {
			t.Fatalf("account.json = %s, %v", files["account.json"], err)
		}
		if strings.Contains(string(files["account.json"]), "argon2") || strings.Contains(string(files["account.json"]), alice.Token()) {
			t.Fatal("account.json carries a secret")
		}
		var convs []struct {
			Conversation parley.Conversation `json:"conversation"`
		}
		if err := json.Unmarshal(files["conversations.json"], &convs); err != nil || len(convs) != 2 {
			t.Fatalf("conversations.json = %s, %v", files["conversations.json"], err)
		}
		var msgs []parley.Message
		if err := json.Unmarshal(files["messages.json"], &msgs); err != nil || len(msgs) != 3 {
			t.Fatalf("messages.json = %s, %v", files["messages.json"], err)
		}
		for _, m := range msgs {
			if m.SenderID != aliceU.ID {
				t.Fatalf("someone else's message exported: %+v", m)
			}
		}
		var index []struct {
			ID   string `json:"id"`
			Path string `json:"path"`
		}
		if err := json.Unmarshal(files["files.json"], &index); err != nil || len(index) != 1 || index[0].ID != att.ID {
			t.Fatalf("files.json = %s, %v", files["files.json"], err)
		}
		if index[0].Path != "files/"+att.ID+"-notes.txt" || !bytes.Equal(files[index[0].Path], content) {
			t.Fatalf("exported file %q = %q", index[0].Path, files[index[0].Path])
		}
		if len(files["README.txt"]) == 0 {
			t.Fatal("no README.txt")
		}
		// Limits: a second export is fine, a third right away is 429.
		d2, err := alice.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, d2.Body)
		d2.Body.Close()
		if _, err := alice.Export(ctx); !parley.IsCode(err, parley.CodeRateLimited) || parley.AsError(err).RetryAfter <= 0 {
			t.Fatalf("third export: %v", err)
		}
		// Not for bots' tokens or anonymous callers.
		bot, _ := alice.CreateBot(ctx, "exportbot", "")
		_, tok, _ := alice.CreateAPIToken(ctx, bot.ID, "t", parley.ScopeMessagesRead)
		if _, err := env.Client(client.WithToken(tok)).Export(ctx); !parley.IsCode(err, parley.CodeForbidden) {
			t.Fatalf("export with an API token: %v", err)
		}
		if _, err := env.Client().Export(ctx); !parley.IsCode(err, parley.CodeUnauthenticated) {
			t.Fatalf("anonymous export: %v", err)
		}
	})
}
