package offline

import (
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/client"
)

// OutboxState is where an outbox entry stands.
type OutboxState string

const (
	// Pending entries are sent, in composition order, whenever the server
	// is reachable.
	Pending OutboxState = "pending"
	// Failed entries were refused by the server with a typed error (Err):
	// they stay for the user to read, Retry or Discard, and are not resent
	// by themselves.
	Failed OutboxState = "failed"
)

// Outbound is one message composed locally and not yet stored by the
// server. ClientMsgID is fixed at composition and used for every attempt.
type Outbound struct {
	N              int64 // composition order
	ClientMsgID    string
	ConversationID string
	Body           string
	ReplyTo        int64
	AttachmentIDs  []string
	E2EE           json.RawMessage // an encrypted conversation's envelope (Body then empty)
	CreatedAt      time.Time
	State          OutboxState
	Attempts       int
	Err            *parley.Error // why it failed (Failed only)
}

// Compose puts a message in the outbox and returns it; it needs no
// network. The message is sent by Sync (or SendOutbox) with
// req.ClientMsgID, generated when empty. An empty message (no body, no
// attachments) or a malformed conversation id is CodeInvalid; composing
// the same ClientMsgID twice is CodeConflict.
func (s *Store) Compose(conversationID string, req client.SendRequest) (Outbound, error) {
	if !parley.ValidID(conversationID) {
		return Outbound{}, parley.Invalid("conversation_id", "malformed conversation id %q", conversationID)
	}
	if strings.TrimSpace(req.Body) == "" && len(req.AttachmentIDs) == 0 && req.E2EE == nil {
		return Outbound{}, parley.Invalid("body", "empty message")
	}
	if req.ReplyTo < 0 {
		return Outbound{}, parley.Invalid("reply_to", "negative reply_to")
	}
	if req.ClientMsgID == "" {
		req.ClientMsgID = parley.NewID()
	}
	ids := req.AttachmentIDs
	if ids == nil {
		ids = []string{}
	}
	now := time.Now().UTC()
	res, err := s.db.Exec(`INSERT INTO outbox (client_msg_id, conversation_id, body, reply_to, attachment_ids, created_at, e2ee)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_msg_id) DO NOTHING`,
		req.ClientMsgID, conversationID, req.Body, req.ReplyTo, mustJSON(ids), timeText(now), string(req.E2EE))
	if err != nil {
		return Outbound{}, dbErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Outbound{}, parley.Errorf(parley.CodeConflict, "client_msg_id %s is already in the outbox", req.ClientMsgID)
	}
	n, _ := res.LastInsertId()
	s.notify()
	return Outbound{N: n, ClientMsgID: req.ClientMsgID, ConversationID: conversationID, Body: req.Body,
		ReplyTo: req.ReplyTo, AttachmentIDs: ids, E2EE: req.E2EE, CreatedAt: now, State: Pending}, nil
}

// Outbox lists the outbox entries of a conversation ("" for all), in
// composition order.
func (s *Store) Outbox(conversationID string) ([]Outbound, error) {
	q := `SELECT n, client_msg_id, conversation_id, body, reply_to, attachment_ids, created_at, state, attempts,
		error_code, error_message, e2ee FROM outbox`
	var args []any
	if conversationID != "" {
		q += " WHERE conversation_id = ?"
		args = append(args, conversationID)
	}
	rows, err := s.db.Query(q+" ORDER BY n", args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []Outbound
	for rows.Next() {
		var o Outbound
		var ids, created, state, code, msg, env string
		if err := rows.Scan(&o.N, &o.ClientMsgID, &o.ConversationID, &o.Body, &o.ReplyTo, &ids, &created, &state,
			&o.Attempts, &code, &msg, &env); err != nil {
			return nil, dbErr(err)
		}
		if env != "" {
			o.E2EE = json.RawMessage(env)
		}
		_ = json.Unmarshal([]byte(ids), &o.AttachmentIDs)
		o.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
		o.State = OutboxState(state)
		if code != "" {
			o.Err = &parley.Error{Code: parley.Code(code), Message: msg}
		}
		out = append(out, o)
	}
	return out, dbErr(rows.Err())
}

// Retry makes a failed entry pending again (same ClientMsgID).
// CodeNotFound if there is no such entry.
func (s *Store) Retry(clientMsgID string) error {
	return s.outboxUpdate(`UPDATE outbox SET state = 'pending', error_code = '', error_message = '' WHERE client_msg_id = ?`,
		clientMsgID)
}

// Discard removes an entry from the outbox. It may still have reached the
// server (an attempt whose answer was lost); resync then brings it back
// as a stored message. CodeNotFound if there is no such entry.
func (s *Store) Discard(clientMsgID string) error {
	return s.outboxUpdate(`DELETE FROM outbox WHERE client_msg_id = ?`, clientMsgID)
}

func (s *Store) outboxUpdate(q, clientMsgID string) error {
	res, err := s.db.Exec(q, clientMsgID)
	if err != nil {
		return dbErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return parley.Errorf(parley.CodeNotFound, "no outbox entry %s", clientMsgID)
	}
	s.notify()
	return nil
}

// attempt counts one send attempt (before it is made, so a crash during
// it is counted too).
func (s *Store) attempt(clientMsgID string) error {
	_, err := s.db.Exec("UPDATE outbox SET attempts = attempts + 1 WHERE client_msg_id = ?", clientMsgID)
	return dbErr(err)
}

// sent records the server's stored message for an outbox entry: in one
// transaction the entry leaves the outbox and the message joins the history.
func (s *Store) sent(clientMsgID string, m parley.Message) error {
	err := s.withTx(func(tx *sql.Tx) error {
		if _, err := tx.Exec("DELETE FROM outbox WHERE client_msg_id = ?", clientMsgID); err != nil {
			return err
		}
		return putMessages(tx, []parley.Message{m})
	})
	if err == nil {
		s.notify()
	}
	return err
}

// fail marks an entry failed with the server's typed error.
func (s *Store) fail(clientMsgID string, e *parley.Error) error {
	_, err := s.db.Exec("UPDATE outbox SET state = 'failed', error_code = ?, error_message = ? WHERE client_msg_id = ?",
		string(e.Code), e.Message, clientMsgID)
	if err == nil {
		s.notify()
	}
	return dbErr(err)
}

// pending returns the entries to send, in composition order.
func (s *Store) pending() ([]Outbound, error) {
	all, err := s.Outbox("")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, o := range all {
		if o.State == Pending {
			out = append(out, o)
		}
	}
	return out, nil
}
