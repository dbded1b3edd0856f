package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// searchFixture is a store with one user in one group and helpers to post
// and to search every page.
type searchFixture struct {
	t    *testing.T
	s    *Store
	user string
	conv string
}

func newSearchFixture(t *testing.T, dir string) *searchFixture {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.stopIndexer() // only IndexPending indexes
	f := &searchFixture{t: t, s: s}
	var n int
	if err := s.read.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > 0 { // reopened: find them
		if err := s.read.QueryRow(`SELECT u.id, c.id FROM users u, conversations c`).Scan(&f.user, &f.conv); err != nil {
			t.Fatal(err)
		}
		return f
	}
	now := time.Now()
	f.user, f.conv = parley.NewID(), parley.NewID()
	if err := s.CreateUser(ctx, parley.User{ID: f.user, Username: "u1", DisplayName: "u", Role: parley.UserRoleUser,
		CreatedAt: now, UpdatedAt: now}, "x"); err != nil {
		t.Fatal(err)
	}
	c := parley.Conversation{ID: f.conv, Kind: parley.KindGroup, CreatedBy: f.user, CreatedAt: now, UpdatedAt: now}
	if _, err := s.CreateConversation(ctx, c, []parley.Member{{UserID: f.user, Role: parley.RoleOwner, JoinedAt: now}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *searchFixture) post(body string, at time.Time) parley.Message {
	f.t.Helper()
	m, _, err := f.s.AppendMessage(context.Background(), parley.Message{ID: parley.NewID(), ConversationID: f.conv, SenderID: f.user,
		ClientMsgID: parley.NewID(), Kind: parley.MessageUser, Body: body, CreatedAt: at}, parley.CheckMember, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// find returns the bodies of every match of terms, newest first, in pages of 2.
func (f *searchFixture) find(terms ...string) []string {
	f.t.Helper()
	out := []string{}
	cursor := ""
	for range 100 {
		ms, next, err := f.s.SearchMessages(context.Background(), parley.MessageSearch{UserID: f.user, Terms: terms,
			Order: parley.SearchRecent, Cursor: cursor, Limit: 2})
		if err != nil {
			f.t.Fatal(err)
		}
		for _, m := range ms {
			out = append(out, m.Body)
		}
		if cursor = next; cursor == "" {
			return out
		}
	}
	f.t.Fatal("pages never end")
	return nil
}

// The indexer writes its own database file: while it holds the index's
// write lock, messages are still appended (and acknowledged) at once. With
// the index in the messages database the append would wait for it.
func TestIndexerDoesNotHoldMessageWriter(t *testing.T) {
	f := newSearchFixture(t, t.TempDir())
	defer f.s.Close()
	for i := range 20 {
		f.post(fmt.Sprintf("before %d", i), time.Now())
	}
	ctx := context.Background()
	conn, err := f.s.ixw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE ix.search_index_state SET indexed_rid = indexed_rid`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, _, err := f.s.AppendMessage(actx, parley.Message{ID: parley.NewID(), ConversationID: f.conv, SenderID: f.user,
			ClientMsgID: parley.NewID(), Kind: parley.MessageUser, Body: "during", CreatedAt: time.Now()}, parley.CheckMember, nil)
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("append while the index is being written: %v", err)
	}
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	conn.Close() // the indexer's only connection
	useIndex(t)
	if got := f.find("during"); !slices.Equal(got, []string{"during"}) {
		t.Fatalf("not yet indexed: %q", got)
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, f.s)
	if got := f.find("during"); !slices.Equal(got, []string{"during"}) {
		t.Fatalf("indexed: %q", got)
	}
}

// A missing index file, or one built from another database, is rebuilt;
// searches are exact meanwhile (they scan what the index does not cover).
func TestSearchIndexRebuilt(t *testing.T) {
	useIndex(t)
	ctx := context.Background()
	dir := t.TempDir()
	f := newSearchFixture(t, dir)
	for i := range 10 {
		f.post(fmt.Sprintf("kept word %d", i), time.Now())
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	want := f.find("word")
	if len(want) != 10 {
		t.Fatalf("before: %q", want)
	}
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}

	// Deleted.
	if err := RemoveIndex(dir); err != nil {
		t.Fatal(err)
	}
	f = newSearchFixture(t, dir)
	if got := f.find("word"); !slices.Equal(got, want) {
		t.Fatalf("index removed, not rebuilt yet: %q", got)
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, f.s)
	if got := f.find("word"); !slices.Equal(got, want) {
		t.Fatalf("index rebuilt: %q", got)
	}
	f.s.Close()

	// Another database's index: a store whose messages differ.
	other := t.TempDir()
	g := newSearchFixture(t, other)
	for i := range 3 {
		g.post(fmt.Sprintf("foreign word %d", i), time.Now())
	}
	if err := g.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	g.s.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(filepath.Join(dir, IndexFileName+suffix))
		b, err := os.ReadFile(filepath.Join(other, IndexFileName+suffix))
		if err == nil {
			if err := os.WriteFile(filepath.Join(dir, IndexFileName+suffix), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	f = newSearchFixture(t, dir)
	defer f.s.Close()
	if got := f.find("word"); !slices.Equal(got, want) {
		t.Fatalf("foreign index: %q", got)
	}
	if got := f.find("foreign"); len(got) != 0 {
		t.Fatalf("foreign index serves its documents: %q", got)
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, f.s)
}

// When the newest messages are deleted, SQLite gives their rids to the next
// messages; those are found before and after indexing, and the deleted ones
// never are.
func TestSearchRidReuse(t *testing.T) {
	useIndex(t)
	ctx := context.Background()
	f := newSearchFixture(t, t.TempDir())
	defer f.s.Close()
	old := time.Now().Add(-48 * time.Hour)
	for i := range 6 {
		f.post(fmt.Sprintf("gone word %d", i), old)
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	var maxRid int64
	if err := f.s.read.QueryRow(`SELECT max(rid) FROM messages`).Scan(&maxRid); err != nil {
		t.Fatal(err)
	}
	n, err := f.s.PurgeHistory(ctx, f.conv, time.Now().Add(-time.Hour), time.Now())
	if err != nil || n != 6 {
		t.Fatalf("purge: %d %v", n, err)
	}
	for round := range 2 { // reused before the indexer saw the purge, then after
		if round == 1 {
			if err := f.s.IndexPending(ctx); err != nil {
				t.Fatal(err)
			}
		}
		f.post(fmt.Sprintf("new word %d", round), time.Now())
	}
	var reused int
	if err := f.s.read.QueryRow(`SELECT count(*) FROM messages WHERE rid <= ?`, maxRid).Scan(&reused); err != nil {
		t.Fatal(err)
	}
	if reused == 0 {
		t.Skip("SQLite did not reuse a rid; nothing to test")
	}
	want := []string{"new word 1", "new word 0"}
	if got := f.find("word"); !slices.Equal(got, want) {
		t.Fatalf("before indexing: %q", got)
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, f.s)
	if got := f.find("word"); !slices.Equal(got, want) {
		t.Fatalf("indexed: %q", got)
	}
}

// Edits and deletes of indexed messages are exact before the indexer
// applies them and after; the queue is trimmed once applied long enough
// ago, and searches stay exact.
func TestSearchChangeQueue(t *testing.T) {
	useIndex(t)
	ctx := context.Background()
	f := newSearchFixture(t, t.TempDir())
	defer f.s.Close()
	var ms []parley.Message
	for i := range 8 {
		ms = append(ms, f.post(fmt.Sprintf("alpha %d", i), time.Now()))
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.EditMessage(ctx, f.conv, ms[3].Seq, "beta 3", nil, nil, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DeleteMessage(ctx, f.conv, ms[5].Seq, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if got := f.find("alpha"); !slices.Equal(got, []string{"alpha 7", "alpha 6", "alpha 4", "alpha 2", "alpha 1", "alpha 0"}) {
			t.Fatalf("%s: alpha %q", when, got)
		}
		if got := f.find("beta"); !slices.Equal(got, []string{"beta 3"}) {
			t.Fatalf("%s: beta %q", when, got)
		}
	}
	check("pending")
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, f.s)
	check("applied")
	var queued int
	count := func() int {
		t.Helper()
		if err := f.s.read.QueryRow(`SELECT count(*) FROM search_changes`).Scan(&queued); err != nil {
			t.Fatal(err)
		}
		return queued
	}
	if count() != 2 {
		t.Fatalf("queue: %d rows", queued)
	}
	f.s.trimChanges(ctx, time.Now()) // too recent
	if count() != 2 {
		t.Fatalf("queue trimmed early: %d rows", queued)
	}
	f.s.trimChanges(ctx, time.Now().Add(truncateAfter))
	if count() != 0 {
		t.Fatalf("queue not trimmed: %d rows", queued)
	}
	check("trimmed")
	if _, err := f.s.EditMessage(ctx, f.conv, ms[3].Seq, "alpha 3 again", nil, nil, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if got := f.find("beta"); len(got) != 0 {
		t.Fatalf("after a second edit: beta %q", got)
	}
	if err := f.s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, f.s)
}
