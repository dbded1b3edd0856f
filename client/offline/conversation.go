package offline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/parley-chat/parley"
)

// Conversation is one conversation as the local store knows it.
type Conversation struct {
	parley.Conversation
	// HaveSeq: every message 1..HaveSeq is stored locally.
	HaveSeq int64
	// ReadSeq is the user's read mark, local marks not yet confirmed by the
	// server included.
	ReadSeq      int64
	DeliveredSeq int64
	Muted        bool
	// Gone: the user left or was removed; the history stays readable.
	Gone bool
	// Unread counts the stored messages after ReadSeq that others sent and
	// that are not deleted.
	Unread int64
	// Last is the newest stored message (nil when none).
	Last *parley.Message
	// Pending counts outbox entries not yet sent (failed ones included).
	Pending int
	// MemberIDs are the members as last fetched (up to 100).
	MemberIDs []string
}

// SetMembers records a conversation's member ids.
func (s *Store) SetMembers(conversationID string, ids []string) error {
	if ids == nil {
		ids = []string{}
	}
	_, err := s.db.Exec("UPDATE conversations SET member_ids = ? WHERE id = ?", mustJSON(ids), conversationID)
	if err == nil {
		s.notify()
	}
	return dbErr(err)
}

// PutEntry records a conversation as the server's conversation list shows
// it. Seqs only grow: an older entry never lowers last_seq or the read marks.
func (s *Store) PutEntry(e parley.ConversationEntry) error {
	_, err := s.db.Exec(`INSERT INTO conversations (id, data, last_seq, last_at, read_seq, read_sent, delivered_seq, muted, gone)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data,
			last_seq = max(last_seq, excluded.last_seq), last_at = max(last_at, excluded.last_at),
			read_seq = max(read_seq, excluded.read_seq), read_sent = max(read_sent, excluded.read_sent),
			delivered_seq = max(delivered_seq, excluded.delivered_seq), muted = excluded.muted, gone = 0`,
		e.ID, mustJSON(e.Conversation), e.LastSeq, timeText(e.LastAt), e.Self.ReadSeq, e.Self.ReadSeq,
		e.Self.DeliveredSeq, e.Self.Muted)
	if err != nil {
		return dbErr(err)
	}
	s.notify()
	return nil
}

// PutConversation records a conversation's details (from an event).
func (s *Store) PutConversation(c parley.Conversation) error {
	_, err := s.db.Exec(`INSERT INTO conversations (id, data, last_seq, last_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, last_seq = max(last_seq, excluded.last_seq),
			last_at = max(last_at, excluded.last_at), gone = 0`,
		c.ID, mustJSON(c), c.LastSeq, timeText(c.LastAt))
	if err != nil {
		return dbErr(err)
	}
	s.notify()
	return nil
}

// SetState records a resync state (from a ready frame).
func (s *Store) SetState(st parley.ConversationState) error {
	_, err := s.db.Exec(`UPDATE conversations SET last_seq = max(last_seq, ?), read_seq = max(read_seq, ?),
		read_sent = max(read_sent, ?), delivered_seq = max(delivered_seq, ?) WHERE id = ?`,
		st.LastSeq, st.ReadSeq, st.ReadSeq, st.DeliveredSeq, st.ConversationID)
	return dbErr(err)
}

// SetGone marks that the user is no longer a member.
func (s *Store) SetGone(conversationID string) error {
	_, err := s.db.Exec("UPDATE conversations SET gone = 1 WHERE id = ?", conversationID)
	if err == nil {
		s.notify()
	}
	return dbErr(err)
}

// SetMuted records the user's own mute setting.
func (s *Store) SetMuted(conversationID string, muted bool) error {
	_, err := s.db.Exec("UPDATE conversations SET muted = ? WHERE id = ?", muted, conversationID)
	return dbErr(err)
}

const convColumns = `c.id, c.data, c.last_seq, c.have_seq, c.read_seq, c.delivered_seq, c.muted, c.gone, c.member_ids,
	(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.seq > c.read_seq
		AND m.sender_id != coalesce((SELECT value FROM meta WHERE key = 'user_id'), '')
		AND m.counts = 1),
	(SELECT data FROM messages m WHERE m.conversation_id = c.id ORDER BY seq DESC LIMIT 1),
	(SELECT count(*) FROM outbox o WHERE o.conversation_id = c.id)`

func scanConversation(sc interface{ Scan(...any) error }) (Conversation, error) {
	var c Conversation
	var id, data string
	var last sql.NullString
	var members string
	if err := sc.Scan(&id, &data, &c.LastSeq, &c.HaveSeq, &c.ReadSeq, &c.DeliveredSeq, &c.Muted, &c.Gone, &members,
		&c.Unread, &last, &c.Pending); err != nil {
		return c, err
	}
	_ = json.Unmarshal([]byte(members), &c.MemberIDs)
	lastSeq := c.LastSeq
	_ = json.Unmarshal([]byte(data), &c.Conversation)
	c.ID = id
	c.LastSeq = max(lastSeq, c.Conversation.LastSeq)
	if last.Valid {
		var m parley.Message
		if json.Unmarshal([]byte(last.String), &m) == nil {
			c.Last = &m
			if m.CreatedAt.After(c.LastAt) {
				c.LastAt = m.CreatedAt
			}
		}
	}
	return c, nil
}

// Conversations lists the stored conversations, most recently active first.
func (s *Store) Conversations() ([]Conversation, error) {
	rows, err := s.db.Query("SELECT " + convColumns + " FROM conversations c ORDER BY c.last_at DESC, c.id")
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []Conversation
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, c)
	}
	return out, dbErr(rows.Err())
}

// Conversation returns one stored conversation. CodeNotFound.
func (s *Store) Conversation(id string) (Conversation, error) {
	c, err := scanConversation(s.db.QueryRow("SELECT "+convColumns+" FROM conversations c WHERE c.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, parley.Errorf(parley.CodeNotFound, "conversation %s is not in the local store", id)
	}
	return c, dbErr(err)
}

// Have returns, per conversation, the seq up to which every message is
// stored: what a resync continues from.
func (s *Store) Have() (map[string]int64, error) {
	rows, err := s.db.Query("SELECT id, have_seq FROM conversations")
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var h int64
		if err := rows.Scan(&id, &h); err != nil {
			return nil, dbErr(err)
		}
		out[id] = h
	}
	return out, dbErr(rows.Err())
}

// MarkRead raises the local read mark of a conversation to seq (never
// lowers it). Sync sends it to the server when connected.
func (s *Store) MarkRead(conversationID string, seq int64) error {
	res, err := s.db.Exec("UPDATE conversations SET read_seq = max(read_seq, ?) WHERE id = ?", seq, conversationID)
	if err != nil {
		return dbErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return parley.Errorf(parley.CodeNotFound, "conversation %s is not in the local store", conversationID)
	}
	s.notify()
	return nil
}

// unsentReads returns the read marks not yet confirmed by the server.
func (s *Store) unsentReads() (map[string]int64, error) {
	rows, err := s.db.Query("SELECT id, read_seq FROM conversations WHERE read_seq > read_sent AND gone = 0")
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, dbErr(err)
		}
		out[id] = seq
	}
	return out, dbErr(rows.Err())
}

func (s *Store) readSent(conversationID string, seq int64) error {
	_, err := s.db.Exec("UPDATE conversations SET read_sent = max(read_sent, ?), read_seq = max(read_seq, ?) WHERE id = ?",
		seq, seq, conversationID)
	return dbErr(err)
}

// undelivered returns, per conversation, the stored messages not yet
// reported delivered: have_seq where it is above delivered_seq.
func (s *Store) undelivered() (map[string]int64, error) {
	rows, err := s.db.Query("SELECT id, have_seq FROM conversations WHERE have_seq > delivered_seq AND gone = 0")
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, dbErr(err)
		}
		out[id] = seq
	}
	return out, dbErr(rows.Err())
}

func (s *Store) deliveredSent(conversationID string, seq int64) error {
	_, err := s.db.Exec("UPDATE conversations SET delivered_seq = max(delivered_seq, ?) WHERE id = ?", seq, conversationID)
	return dbErr(err)
}

// PutReceipt records a member's receipt (marks only grow).
func (s *Store) PutReceipt(r parley.Receipt) error {
	_, err := s.db.Exec(`INSERT INTO receipts (conversation_id, user_id, delivered_seq, read_seq) VALUES (?, ?, ?, ?)
		ON CONFLICT (conversation_id, user_id) DO UPDATE SET delivered_seq = max(delivered_seq, excluded.delivered_seq),
			read_seq = max(read_seq, excluded.read_seq)`, r.ConversationID, r.UserID, r.DeliveredSeq, r.ReadSeq)
	if err != nil {
		return dbErr(err)
	}
	if r.UserID == s.UserID() {
		_ = s.readSent(r.ConversationID, r.ReadSeq)
		_ = s.deliveredSent(r.ConversationID, r.DeliveredSeq)
	}
	s.notify()
	return nil
}

// Receipts lists the stored receipts of a conversation, by user id.
func (s *Store) Receipts(conversationID string) ([]parley.Receipt, error) {
	rows, err := s.db.Query(`SELECT user_id, delivered_seq, read_seq FROM receipts WHERE conversation_id = ? ORDER BY user_id`,
		conversationID)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []parley.Receipt
	for rows.Next() {
		r := parley.Receipt{ConversationID: conversationID}
		if err := rows.Scan(&r.UserID, &r.DeliveredSeq, &r.ReadSeq); err != nil {
			return nil, dbErr(err)
		}
		out = append(out, r)
	}
	return out, dbErr(rows.Err())
}

// PutUsers caches user profiles (for names shown offline).
func (s *Store) PutUsers(us ...parley.User) error {
	for _, u := range us {
		if _, err := s.db.Exec("INSERT INTO users (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
			u.ID, mustJSON(u)); err != nil {
			return dbErr(err)
		}
	}
	if len(us) > 0 {
		s.notify()
	}
	return nil
}

// Users returns the cached profiles by id.
func (s *Store) Users() (map[string]parley.User, error) {
	rows, err := s.db.Query("SELECT data FROM users")
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[string]parley.User{}
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, dbErr(err)
		}
		var u parley.User
		if json.Unmarshal([]byte(data), &u) == nil {
			out[u.ID] = u
		}
	}
	return out, dbErr(rows.Err())
}

// withTx runs f in one transaction.
func (s *Store) withTx(f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		return dbErr(err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return dbErr(err)
	}
	return dbErr(tx.Commit())
}
