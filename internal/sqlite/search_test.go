package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/storetest"
)

// indexedStore runs the background indexer to the end before every search,
// so that the conformance tests exercise the FTS5 index (and the triggers
// that keep indexed rows up to date) instead of the scan of rows not yet
// indexed, which the plain store exercises.
type indexedStore struct{ *Store }

func (s indexedStore) SearchMessages(ctx context.Context, q parley.MessageSearch) ([]parley.Message, string, error) {
	if err := s.IndexPending(ctx); err != nil {
		return nil, "", err
	}
	return s.Store.SearchMessages(ctx, q)
}

// useIndex makes every search with a long enough term use the index.
func useIndex(t *testing.T) {
	old := scanMax.Swap(0)
	t.Cleanup(func() { scanMax.Store(old) })
}

func TestConformanceIndexed(t *testing.T) {
	useIndex(t)
	storetest.Run(t, func(t *testing.T) parley.Store {
		s, err := Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s.stopIndexer() // only IndexPending indexes
		t.Cleanup(func() { _ = s.Close() })
		return indexedStore{s}
	})
}

// checkIndex runs FTS5's integrity check on the index file, then checks
// that the indexed documents are exactly the live user messages up to
// indexed_rid that are not queued for re-indexing, each found by its
// current body, and that no other document is indexed.
func checkIndex(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.ixw.Exec(`INSERT INTO ix.messages_fts (messages_fts) VALUES ('integrity-check')`); err != nil {
		t.Fatalf("index integrity: %v", err)
	}
	const covered = `kind = 'user' AND body <> '' AND deleted = 0 AND rid <= (SELECT indexed_rid FROM ix.search_index_state)
		AND rid NOT IN (SELECT rid FROM search_changes WHERE seq > (SELECT applied_seq FROM ix.search_index_state))`
	var missing, extra int
	if err := s.read.QueryRow(`SELECT
		(SELECT count(*) FROM messages WHERE `+covered+` AND rid NOT IN (SELECT id FROM ix.messages_fts_docsize)),
		(SELECT count(*) FROM ix.messages_fts_docsize WHERE id NOT IN (SELECT rid FROM messages WHERE kind = 'user' AND body <> '' AND deleted = 0)
			AND id NOT IN (SELECT rid FROM search_changes WHERE seq > (SELECT applied_seq FROM ix.search_index_state)))`).Scan(&missing, &extra); err != nil {
		t.Fatal(err)
	}
	if missing != 0 || extra != 0 {
		t.Fatalf("index: %d messages missing, %d documents too many", missing, extra)
	}
	rows, err := s.read.Query(`SELECT rid, body FROM messages WHERE ` + covered + ` AND length(body) >= 3`)
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[int64]string{}
	for rows.Next() {
		var rid int64
		var body string
		if err := rows.Scan(&rid, &body); err != nil {
			t.Fatal(err)
		}
		bodies[rid] = body
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for rid, body := range bodies {
		if len(trigramText(body)) < trigramMin {
			continue // no trigram: only scans find it
		}
		var n int
		if err := s.read.QueryRow(`SELECT count(*) FROM ix.messages_fts WHERE messages_fts MATCH ? AND rowid = ?`,
			ftsQuery([]string{body}), rid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("row %d not found by its body", rid)
		}
	}
}

// Results are exact across the boundary between indexed rows and rows the
// indexer has not reached, in both orders and across pages, and edits and
// deletes on either side of it keep the index consistent with the table.
func TestSearchAcrossIndexBoundary(t *testing.T) {
	useIndex(t)
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.stopIndexer()
	now := time.Now()
	user := parley.User{ID: parley.NewID(), Username: "u1", DisplayName: "u", Role: parley.UserRoleUser, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, user, "x"); err != nil {
		t.Fatal(err)
	}
	c := parley.Conversation{ID: parley.NewID(), Kind: parley.KindGroup, CreatedBy: user.ID, CreatedAt: now, UpdatedAt: now}
	if _, err := s.CreateConversation(ctx, c, []parley.Member{{UserID: user.ID, Role: parley.RoleOwner, JoinedAt: now}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	post := func(body string) parley.Message {
		m, _, err := s.AppendMessage(ctx, parley.Message{ID: parley.NewID(), ConversationID: c.ID, SenderID: user.ID,
			ClientMsgID: parley.NewID(), Kind: parley.MessageUser, Body: body, CreatedAt: time.Now()}, parley.CheckMember, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for i := range 6 {
		post(fmt.Sprintf("Ärger word %d", i))
	}
	if err := s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s)
	for i := 6; i < 10; i++ {
		post(fmt.Sprintf("ärger word %d", i))
	}
	all := func(order parley.SearchOrder, terms ...string) []string {
		t.Helper()
		var out []string
		cursor := ""
		for range 20 {
			ms, next, err := s.SearchMessages(ctx, parley.MessageSearch{UserID: user.ID, Terms: terms, Order: order, Cursor: cursor, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				out = append(out, m.Body)
			}
			if cursor = next; cursor == "" {
				return out
			}
		}
		t.Fatal("pages never end")
		return nil
	}
	want := []string{}
	for i := 9; i >= 0; i-- {
		want = append(want, fmt.Sprintf("%sword %d", map[bool]string{true: "ärger ", false: "Ärger "}[i >= 6], i))
	}
	if got := all(parley.SearchRecent, "ÄRGER", "word"); !slices.Equal(got, want) {
		t.Fatalf("recent: %q", got)
	}
	rel := all(parley.SearchRelevance, "ärger")
	slices.Sort(rel)
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	if !slices.Equal(rel, sorted) {
		t.Fatalf("relevance: %q", rel)
	}
	// Edit and delete on both sides of the boundary.
	for _, seq := range []int64{2, 8} { // indexed, not indexed
		if _, err := s.EditMessage(ctx, c.ID, seq, fmt.Sprintf("replaced %d", seq), nil, nil, time.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, seq := range []int64{3, 9} {
		if _, err := s.DeleteMessage(ctx, c.ID, seq, time.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	checkIndex(t, s)
	if got := all(parley.SearchRecent, "word"); len(got) != 6 {
		t.Fatalf("after edits and deletes: %q", got)
	}
	if got := all(parley.SearchRecent, "replaced"); !slices.Equal(got, []string{"replaced 8", "replaced 2"}) {
		t.Fatalf("edited: %q", got)
	}
	if err := s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s)
	if got := all(parley.SearchRecent, "replaced"); !slices.Equal(got, []string{"replaced 8", "replaced 2"}) {
		t.Fatalf("edited, all indexed: %q", got)
	}
	if got := all(parley.SearchRecent, "word"); len(got) != 6 {
		t.Fatalf("all indexed: %q", got)
	}
	// Edits after indexing.
	if _, err := s.EditMessage(ctx, c.ID, 8, "again", nil, nil, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s)
	if got := all(parley.SearchRecent, "replaced"); !slices.Equal(got, []string{"replaced 2"}) {
		t.Fatalf("edited twice: %q", got)
	}
}
