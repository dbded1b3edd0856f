package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

func blobKey(c byte) string { return strings.Repeat(string(c), 64) }

func newFile(t *testing.T, s parley.Store, owner string, size int64, key byte) parley.StoredAttachment {
	t.Helper()
	a := parley.StoredAttachment{
		Attachment: parley.Attachment{ID: parley.NewID(), Name: "photo.jpg", MIME: "image/jpeg", Size: size,
			Width: 40, Height: 30, Thumbnail: &parley.Thumbnail{MIME: "image/jpeg", Width: 20, Height: 15, Size: 99}},
		Purpose: parley.PurposeFile, OwnerID: owner, BlobKey: blobKey(key), ThumbKey: blobKey(key + 1),
		CreatedAt: baseTime,
	}
	if err := s.CreateAttachment(context.Background(), a); err != nil {
		t.Fatalf("create attachment: %v", err)
	}
	return a
}

func testAttachments(t *testing.T, open Opener) {
	t.Run("create read usage", func(t *testing.T) { attachmentCreateReadUsage(t, open) })
	t.Run("messages carry and bind files", func(t *testing.T) { attachmentMessagesCarryAndBindFiles(t, open) })
	t.Run("concurrent sends of one file", func(t *testing.T) { attachmentConcurrentSendsOfOneFile(t, open) })
	t.Run("avatars", func(t *testing.T) { attachmentAvatars(t, open) })
	t.Run("purge and references", func(t *testing.T) { attachmentPurgeAndReferences(t, open) })
	t.Run("uploads", func(t *testing.T) { attachmentUploads(t, open) })
}

// attachmentCreateReadUsage: create read usage.
func attachmentCreateReadUsage(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "at", 2)
	a := newFile(t, s, u[0], 1000, 'a')
	got, err := s.Attachment(ctx, a.ID)
	if err != nil || got.Name != a.Name || got.MIME != a.MIME || got.Size != 1000 || got.Width != 40 ||
		got.Height != 30 || got.Thumbnail == nil || *got.Thumbnail != *a.Thumbnail || got.BlobKey != a.BlobKey ||
		got.ThumbKey != a.ThumbKey || got.OwnerID != u[0] || got.ConversationID != "" || got.Purpose != parley.PurposeFile ||
		!got.CreatedAt.Equal(baseTime) || got.DeletedAt != nil {
		t.Fatalf("attachment %+v %v", got, err)
	}
	wantCode(t, s.CreateAttachment(ctx, a), parley.CodeConflict)
	_, err = s.Attachment(ctx, parley.NewID())
	wantCode(t, err, parley.CodeNotFound)
	newFile(t, s, u[0], 500, 'c')
	if n, err := s.AttachmentUsage(ctx, u[0]); err != nil || n != 1500 {
		t.Fatalf("usage %d %v", n, err)
	}
	if n, err := s.AttachmentUsage(ctx, u[1]); err != nil || n != 0 {
		t.Fatalf("usage of another %d %v", n, err)
	}
	wantCode(t, s.DeleteAttachment(ctx, a.ID, u[1], baseTime), parley.CodeNotFound)
	if err := s.DeleteAttachment(ctx, a.ID, u[0], baseTime.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteAttachment(ctx, a.ID, u[0], baseTime), parley.CodeNotFound)
	if n, _ := s.AttachmentUsage(ctx, u[0]); n != 500 {
		t.Fatalf("usage after delete %d", n)
	}
	if got, _ := s.Attachment(ctx, a.ID); got.DeletedAt == nil || !got.DeletedAt.Equal(baseTime.Add(time.Hour)) {
		t.Fatalf("deleted_at %v", got.DeletedAt)
	}
}

// attachmentMessagesCarryAndBindFiles: messages carry and bind files.
func attachmentMessagesCarryAndBindFiles(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "mb", 3)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	a1, a2 := newFile(t, s, u[0], 10, 'a'), newFile(t, s, u[0], 20, 'c')
	other := newFile(t, s, u[1], 30, 'e')
	m := userMsg(c.ID, u[0], "f1", "two files")
	m.Attachments = []parley.Attachment{a1.Attachment, a2.Attachment}
	var notified parley.Message
	got, created, err := s.AppendMessage(ctx, m, parley.CheckMember, func(m parley.Message) { notified = m })
	if err != nil || !created || len(got.Attachments) != 2 || got.Attachments[1].ID != a2.ID {
		t.Fatalf("append %+v %v %v", got, created, err)
	}
	if len(notified.Attachments) != 2 {
		t.Fatalf("notified without files: %+v", notified)
	}
	for _, read := range []func() (parley.Message, error){
		func() (parley.Message, error) { return s.Message(ctx, c.ID, got.Seq) },
		func() (parley.Message, error) {
			h, err := s.History(ctx, c.ID, parley.HistoryQuery{After: 0, Limit: 10})
			return h[len(h)-1], err
		},
		func() (parley.Message, error) { return s.MessageByClientID(ctx, u[0], "f1") },
	} {
		r, err := read()
		if err != nil || len(r.Attachments) != 2 || r.Attachments[0] != a1.Attachment && r.Attachments[0].ID != a1.ID {
			t.Fatalf("read back %+v %v", r, err)
		}
		if r.Attachments[0].Thumbnail == nil || r.Attachments[0].Width != 40 {
			t.Fatalf("metadata lost %+v", r.Attachments[0])
		}
	}
	if b, _ := s.Attachment(ctx, a1.ID); b.ConversationID != c.ID || b.Seq != got.Seq {
		t.Fatalf("not bound: %+v", b)
	}
	// Resending the same client id returns the message, not an error.
	again, created, err := s.AppendMessage(ctx, m, parley.CheckMember, nil)
	if err != nil || created || again.Seq != got.Seq {
		t.Fatalf("resend %+v %v %v", again, created, err)
	}
	// A file cannot be sent twice, nor someone else's, nor a deleted one.
	m2 := userMsg(c.ID, u[0], "f2", "again")
	m2.Attachments = []parley.Attachment{a1.Attachment}
	_, _, err = s.AppendMessage(ctx, m2, parley.CheckMember, nil)
	wantCode(t, err, parley.CodeInvalid)
	m3 := userMsg(c.ID, u[0], "f3", "theirs")
	m3.Attachments = []parley.Attachment{other.Attachment}
	_, _, err = s.AppendMessage(ctx, m3, parley.CheckMember, nil)
	wantCode(t, err, parley.CodeInvalid)
	gone := newFile(t, s, u[0], 5, 'g')
	s.DeleteAttachment(ctx, gone.ID, u[0], baseTime)
	m4 := userMsg(c.ID, u[0], "f4", "gone")
	m4.Attachments = []parley.Attachment{gone.Attachment}
	_, _, err = s.AppendMessage(ctx, m4, parley.CheckMember, nil)
	wantCode(t, err, parley.CodeInvalid)
	// A sent file cannot be deleted as unsent.
	wantCode(t, s.DeleteAttachment(ctx, a1.ID, u[0], baseTime), parley.CodeNotFound)
	// Nothing was appended by the refusals.
	if conv, _ := s.Conversation(ctx, c.ID); conv.LastSeq != got.Seq {
		t.Fatalf("refusals appended: last_seq %d", conv.LastSeq)
	}
	// Deleting the message hides its files and marks them deleted.
	del, err := s.DeleteMessage(ctx, c.ID, got.Seq, baseTime.Add(time.Hour), nil)
	if err != nil || len(del.Attachments) != 0 {
		t.Fatalf("delete %+v %v", del, err)
	}
	if r, _ := s.Message(ctx, c.ID, got.Seq); len(r.Attachments) != 0 {
		t.Fatalf("tombstone keeps files %+v", r.Attachments)
	}
	if b, _ := s.Attachment(ctx, a2.ID); b.DeletedAt == nil {
		t.Fatalf("file of a deleted message not deleted: %+v", b)
	}
}

// attachmentConcurrentSendsOfOneFile: concurrent sends of one file.
func attachmentConcurrentSendsOfOneFile(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "cs", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	a := newFile(t, s, u[0], 10, 'a')
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := userMsg(c.ID, u[0], parley.NewID(), "race")
			m.Attachments = []parley.Attachment{a.Attachment}
			_, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil)
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !parley.IsCode(err, parley.CodeInvalid) {
				t.Errorf("send: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d messages carry the one file", ok)
	}
}

// attachmentAvatars: avatars.
func attachmentAvatars(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "av", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	_, err := s.Avatar(ctx, u[0], "")
	wantCode(t, err, parley.CodeNotFound)
	mk := func(owner, conv string, key byte, at time.Time) parley.StoredAttachment {
		a := parley.StoredAttachment{Attachment: parley.Attachment{ID: parley.NewID(), Name: "avatar.png",
			MIME: "image/png", Size: 100, Width: 256, Height: 256}, Purpose: parley.PurposeAvatar,
			OwnerID: owner, ConversationID: conv, BlobKey: blobKey(key), CreatedAt: at}
		if err := s.SetAvatar(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := mk(u[0], "", 'a', baseTime)
	second := mk(u[0], "", 'b', baseTime.Add(time.Minute))
	conv := mk(u[1], c.ID, 'c', baseTime)
	if got, err := s.Avatar(ctx, u[0], ""); err != nil || got.ID != second.ID {
		t.Fatalf("user avatar %+v %v", got, err)
	}
	if got, err := s.Avatar(ctx, "", c.ID); err != nil || got.ID != conv.ID {
		t.Fatalf("conversation avatar %+v %v", got, err)
	}
	if got, err := s.Avatar(ctx, u[1], ""); !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("u1 has no user avatar, got %+v %v", got, err)
	}
	if old, _ := s.Attachment(ctx, first.ID); old.DeletedAt == nil {
		t.Fatal("replaced avatar not deleted")
	}
	if n, _ := s.AttachmentUsage(ctx, u[0]); n != 100 {
		t.Fatalf("usage counts replaced avatars: %d", n)
	}
	m, err := s.UserAvatars(ctx, []string{u[0], u[1], "nobody"})
	if err != nil || len(m) != 1 || m[u[0]] != second.ID {
		t.Fatalf("user avatars %v %v", m, err)
	}
	if m, err := s.UserAvatars(ctx, nil); err != nil || len(m) != 0 {
		t.Fatalf("no ids: %v %v", m, err)
	}
}

// attachmentPurgeAndReferences: purge and references.
func attachmentPurgeAndReferences(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "pg", 2)
	c := newConversation(t, s, parley.KindGroup, "g", u[0], u[1])
	unsent := newFile(t, s, u[0], 1, 'a')
	sent := newFile(t, s, u[0], 1, 'c')
	m := userMsg(c.ID, u[0], "p1", "x")
	m.Attachments = []parley.Attachment{sent.Attachment}
	if _, _, err := s.AppendMessage(ctx, m, parley.CheckMember, nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{unsent.BlobKey, unsent.ThumbKey, sent.BlobKey} {
		if ok, err := s.BlobReferenced(ctx, k); err != nil || !ok {
			t.Fatalf("referenced(%s) %v %v", k[:4], ok, err)
		}
	}
	if ok, err := s.BlobReferenced(ctx, blobKey('9')); err != nil || ok {
		t.Fatalf("unknown key referenced %v %v", ok, err)
	}
	// Before the cut-offs nothing goes.
	if n, err := s.PurgeAttachments(ctx, baseTime, baseTime); err != nil || n != 0 {
		t.Fatalf("early purge %d %v", n, err)
	}
	n, err := s.PurgeAttachments(ctx, baseTime.Add(time.Second), baseTime.Add(time.Second))
	if err != nil || n != 1 {
		t.Fatalf("purge unsent %d %v", n, err)
	}
	_, err = s.Attachment(ctx, unsent.ID)
	wantCode(t, err, parley.CodeNotFound)
	if _, err := s.Attachment(ctx, sent.ID); err != nil {
		t.Fatalf("sent file purged: %v", err)
	}
	s.DeleteMessage(ctx, c.ID, 2, baseTime.Add(time.Hour), nil)
	if n, _ := s.PurgeAttachments(ctx, baseTime.Add(2*time.Hour), baseTime.Add(time.Hour)); n != 0 {
		t.Fatalf("purged within the grace period: %d", n)
	}
	if n, _ := s.PurgeAttachments(ctx, baseTime.Add(2*time.Hour), baseTime.Add(2*time.Hour)); n != 1 {
		t.Fatalf("deleted file not purged: %d", n)
	}
	if ok, _ := s.BlobReferenced(ctx, sent.BlobKey); ok {
		t.Fatal("purged file still references its blob")
	}
}

// attachmentUploads: uploads.
func attachmentUploads(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	u := newUsers(t, s, "up", 1)
	up := parley.Upload{ID: parley.NewID(), OwnerID: u[0], Name: "big.bin", Size: 100, CreatedAt: baseTime,
		ExpiresAt: baseTime.Add(time.Hour)}
	if err := s.CreateUpload(ctx, up); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateUpload(ctx, up), parley.CodeConflict)
	got, err := s.Upload(ctx, up.ID)
	if err != nil || got.Received != 0 || got.Size != 100 || got.OwnerID != u[0] || got.Name != "big.bin" || len(got.Parts) != 0 {
		t.Fatalf("upload %+v %v", got, err)
	}
	got, err = s.AddUploadPart(ctx, up.ID, 0, parley.UploadPart{Key: blobKey('a'), Size: 60})
	if err != nil || got.Received != 60 || len(got.Parts) != 1 {
		t.Fatalf("part 1 %+v %v", got, err)
	}
	_, err = s.AddUploadPart(ctx, up.ID, 0, parley.UploadPart{Key: blobKey('b'), Size: 10})
	wantCode(t, err, parley.CodeConflict)
	_, err = s.AddUploadPart(ctx, up.ID, 60, parley.UploadPart{Key: blobKey('b'), Size: 41})
	wantCode(t, err, parley.CodeInvalid)
	if _, err := s.AddUploadPart(ctx, up.ID, 60, parley.UploadPart{Key: blobKey('b'), Size: 40}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Upload(ctx, up.ID)
	if got.Received != 100 || len(got.Parts) != 2 || got.Parts[0].Key != blobKey('a') || got.Parts[1].Size != 40 {
		t.Fatalf("after parts %+v", got)
	}
	if ok, _ := s.BlobReferenced(ctx, blobKey('b')); !ok {
		t.Fatal("part blob not referenced")
	}
	_, err = s.AddUploadPart(ctx, parley.NewID(), 0, parley.UploadPart{Key: blobKey('c'), Size: 1})
	wantCode(t, err, parley.CodeNotFound)
	if ids, err := s.ExpiredUploads(ctx, baseTime.Add(time.Minute)); err != nil || len(ids) != 0 {
		t.Fatalf("expired early %v %v", ids, err)
	}
	if ids, err := s.ExpiredUploads(ctx, baseTime.Add(2*time.Hour)); err != nil || len(ids) != 1 || ids[0] != up.ID {
		t.Fatalf("expired %v %v", ids, err)
	}
	if err := s.DeleteUpload(ctx, up.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUpload(ctx, up.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Upload(ctx, up.ID)
	wantCode(t, err, parley.CodeNotFound)
	if ok, _ := s.BlobReferenced(ctx, blobKey('b')); ok {
		t.Fatal("deleted upload's part still referenced")
	}
}
