package offline

import (
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/parley-chat/parley"
)

// PutMessages stores messages (new ones, or newer states of stored ones: an
// edit, a deletion, reactions), in one transaction. A stored message is
// never replaced by an older state of itself: a tombstone stays a
// tombstone, and a later edit wins over an earlier one. The conversation's
// have_seq advances over every run of consecutive seqs now stored.
func (s *Store) PutMessages(ms ...parley.Message) error {
	if len(ms) == 0 {
		return nil
	}
	err := s.withTx(func(tx *sql.Tx) error { return putMessages(tx, ms) })
	if err == nil {
		s.notify()
	}
	return err
}

func putMessages(tx *sql.Tx, ms []parley.Message) error {
	{
		touched := map[string]bool{}
		for _, m := range ms {
			if m.ConversationID == "" || m.Seq <= 0 {
				return parley.Invalid("message", "message without conversation or seq")
			}
			if _, err := tx.Exec(`INSERT INTO conversations (id, data, last_seq, last_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq), last_at = max(last_at, excluded.last_at)`,
				m.ConversationID, mustJSON(parley.Conversation{ID: m.ConversationID}), m.Seq, timeText(m.CreatedAt)); err != nil {
				return err
			}
			var old string
			err := tx.QueryRow("SELECT data FROM messages WHERE conversation_id = ? AND seq = ?", m.ConversationID, m.Seq).Scan(&old)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			default:
				var o parley.Message
				if json.Unmarshal([]byte(old), &o) == nil && newer(o, m) {
					continue
				}
			}
			counts := m.Kind == parley.MessageUser && !m.Deleted
			if _, err := tx.Exec(`INSERT INTO messages (conversation_id, seq, id, sender_id, client_msg_id, counts, data) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (conversation_id, seq) DO UPDATE SET data = excluded.data, counts = excluded.counts`,
				m.ConversationID, m.Seq, m.ID, m.SenderID, m.ClientMsgID, counts, mustJSON(m)); err != nil {
				return err
			}
			touched[m.ConversationID] = true
		}
		for id := range touched {
			if err := advanceHave(tx, id); err != nil {
				return err
			}
		}
		return nil
	}
}

// newer reports whether stored state o is newer than incoming state m of
// the same message.
func newer(o, m parley.Message) bool {
	if o.Deleted && !m.Deleted {
		return true
	}
	if o.EditedAt != nil && (m.EditedAt == nil || o.EditedAt.After(*m.EditedAt)) && !m.Deleted {
		return true
	}
	return false
}

func advanceHave(tx *sql.Tx, conversationID string) error {
	var have int64
	if err := tx.QueryRow("SELECT have_seq FROM conversations WHERE id = ?", conversationID).Scan(&have); err != nil {
		return err
	}
	rows, err := tx.Query("SELECT seq FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq", conversationID, have)
	if err != nil {
		return err
	}
	next := have
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return err
		}
		if seq != next+1 {
			break
		}
		next = seq
	}
	rows.Close()
	if next == have {
		return nil
	}
	_, err = tx.Exec("UPDATE conversations SET have_seq = ? WHERE id = ?", next, conversationID)
	return err
}

// SetReactions replaces a stored message's reaction list (from a reaction
// event). A message not stored yet is ignored: resync brings it whole.
func (s *Store) SetReactions(conversationID string, seq int64, rs []parley.Reaction) error {
	err := s.withTx(func(tx *sql.Tx) error {
		var data string
		err := tx.QueryRow("SELECT data FROM messages WHERE conversation_id = ? AND seq = ?", conversationID, seq).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var m parley.Message
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			return err
		}
		m.Reactions = rs
		_, err = tx.Exec("UPDATE messages SET data = ? WHERE conversation_id = ? AND seq = ?", mustJSON(m), conversationID, seq)
		return err
	})
	if err == nil {
		s.notify()
	}
	return err
}

// Message returns one stored message. CodeNotFound.
func (s *Store) Message(conversationID string, seq int64) (parley.Message, error) {
	var data string
	err := s.db.QueryRow("SELECT data FROM messages WHERE conversation_id = ? AND seq = ?", conversationID, seq).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return parley.Message{}, parley.Errorf(parley.CodeNotFound, "message %d of %s is not in the local store", seq, conversationID)
	}
	if err != nil {
		return parley.Message{}, dbErr(err)
	}
	var m parley.Message
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return m, dbErr(err)
	}
	return m, nil
}

// Messages returns up to limit stored messages of a conversation with seq
// below before (0: the newest), oldest first: a page of history to show.
func (s *Store) Messages(conversationID string, before int64, limit int) ([]parley.Message, error) {
	if before <= 0 {
		before = 1 << 62
	}
	out, err := s.queryMessages(`SELECT data FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
		conversationID, before, limit)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// MessagesAfter returns up to limit stored messages with seq above after,
// oldest first.
func (s *Store) MessagesAfter(conversationID string, after int64, limit int) ([]parley.Message, error) {
	return s.queryMessages(`SELECT data FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		conversationID, after, limit)
}

func (s *Store) queryMessages(q string, args ...any) ([]parley.Message, error) {
	rows, err := s.db.Query(q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []parley.Message
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, dbErr(err)
		}
		var m parley.Message
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			return nil, dbErr(err)
		}
		out = append(out, m)
	}
	return out, dbErr(rows.Err())
}
