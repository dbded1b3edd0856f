package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// messageCols are read FROM messageFrom.
const messageCols = `c.id, m.seq, m.id, m.sender_id, coalesce(m.client_msg_id, ''), m.kind, m.body, m.reply_to,
	m.mentions, m.system, m.created_at, m.edited_at, m.deleted, m.attachments, m.e2ee`

const messageFrom = ` FROM messages m JOIN conversations c ON c.num = m.conv `

// convNum is the subquery mapping a conversation id to its num.
const convNum = `(SELECT num FROM conversations WHERE id = ?)`

func scanMessage(r interface{ Scan(...any) error }) (parley.Message, error) {
	var (
		m        parley.Message
		mentions string
		system   string
		created  int64
		edited   sql.NullInt64
		attached string
		e2ee     string
	)
	err := r.Scan(&m.ConversationID, &m.Seq, &m.ID, &m.SenderID, &m.ClientMsgID, &m.Kind, &m.Body, &m.ReplyTo,
		&mentions, &system, &created, &edited, &m.Deleted, &attached, &e2ee)
	if err != nil {
		return m, err
	}
	if e2ee != "" {
		m.E2EE = json.RawMessage(e2ee)
	}
	if m.Attachments, err = decodeAttachments(attached); err != nil {
		return m, err
	}
	m.Mentions = splitIDs(mentions)
	if system != "" {
		m.System = new(parley.SystemInfo)
		if err := json.Unmarshal([]byte(system), m.System); err != nil {
			return m, err
		}
	}
	m.CreatedAt = fromMillis(created)
	if edited.Valid {
		t := fromMillis(edited.Int64)
		m.EditedAt = &t
	}
	return m, nil
}

func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func joinIDs(ids []string) string { return strings.Join(ids, " ") }

func clientKey(sender, client string) string { return sender + "\x00" + client }

// appendMessage is AppendMessage's body inside a batch: it reads what the
// admission rules (parley.AdmitAppend, parley.ClaimAttachments) need, and
// writes what they decided. It writes at most one row before its last
// failure point, so it needs no savepoint: on error nothing was written.
func (w *wtx) appendMessage(m *parley.Message, check parley.AppendCheck) (bool, error) {
	cs, err := w.conv(m.ConversationID)
	if err != nil {
		return false, err
	}
	var role parley.MemberRole
	if check == parley.CheckMember {
		if role, err = w.role(m.ConversationID, m.SenderID); err != nil {
			return false, err
		}
	}
	key, prev, resend, err := w.earlier(m)
	if err != nil {
		return false, err
	}
	var earlier *parley.Message
	if resend {
		earlier = &prev
	}
	if fresh, err := parley.AdmitAppend(cs.AppendHead, check, role, m, earlier); !fresh {
		return false, err
	}
	if err := w.claimAttachments(*m); err != nil {
		return false, err
	}
	system, attached, err := encodeMessage(*m)
	if err != nil {
		return false, parley.Internal(err)
	}
	var client any
	if m.ClientMsgID != "" {
		client = m.ClientMsgID
	}
	seq := cs.LastSeq + 1
	res, err := w.stmt(stmtInsert).ExecContext(w.ctx, cs.num, seq, m.ID, m.SenderID, client, m.Kind, m.Body, m.ReplyTo, joinIDs(m.Mentions), system,
		millis(m.CreatedAt), attached, string(m.E2EE))
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, err
	} else if n == 0 {
		// A resend the batch did not know of: answered by the row it hit.
		if m.ClientMsgID == "" {
			return false, parley.Internal(errSeqTaken)
		}
		prev, err := w.messageByClientID(m.SenderID, m.ClientMsgID)
		if err != nil {
			return false, err
		}
		w.clients[key] = prev
		return false, parley.Resend(m, prev)
	}
	if err := w.bindAttachments(m, seq); err != nil {
		return false, abortBatch(err) // the row is written: only a rollback undoes it
	}
	parley.Appended(&cs.AppendHead, m, seq)
	cs.dirty = true
	if key != "" {
		w.clients[key] = *m
	}
	return true, nil
}

var errSeqTaken = &parley.Error{Code: parley.CodeInternal, Message: "seq already taken"}

// earlier returns m's idempotency key and (resend=true) the earlier
// message with it, if the batch appended one, or if m carries files and a
// committed message has the key (a resend finds its files bound already, so
// it must be answered before they are claimed). Other resends are found by
// the insert's conflict.
func (w *wtx) earlier(m *parley.Message) (key string, prev parley.Message, resend bool, err error) {
	if m.ClientMsgID == "" {
		return "", prev, false, nil
	}
	key = clientKey(m.SenderID, m.ClientMsgID)
	if prev, ok := w.clients[key]; ok {
		return key, prev, true, nil
	}
	if len(m.Attachments) == 0 {
		return key, prev, false, nil
	}
	prev, err = w.messageByClientID(m.SenderID, m.ClientMsgID)
	if err == sql.ErrNoRows {
		return key, parley.Message{}, false, nil
	}
	if err != nil {
		return key, prev, false, err
	}
	w.clients[key] = prev
	return key, prev, true, nil
}

func (w *wtx) messageByClientID(senderID, clientMsgID string) (parley.Message, error) {
	return scanMessage(w.tx.QueryRowContext(w.ctx, `SELECT `+messageCols+messageFrom+`
		WHERE m.sender_id = ? AND m.client_msg_id = ?`, senderID, clientMsgID))
}

// encodeMessage returns the stored forms of m's system info and attachments.
func encodeMessage(m parley.Message) (system, attached string, err error) {
	if m.System != nil {
		b, err := json.Marshal(m.System)
		if err != nil {
			return "", "", err
		}
		system = string(b)
	}
	attached, err = encodeAttachments(m.Attachments)
	return system, attached, err
}

// AppendMessage implements parley.MessageStore; see the contract there.
func (s *Store) AppendMessage(ctx context.Context, m parley.Message, check parley.AppendCheck,
	notify func(parley.Message)) (parley.Message, bool, error) {
	var created bool
	var hook func()
	if notify != nil {
		hook = func() {
			if created {
				notify(m)
			}
		}
	}
	err := s.submit(ctx, false, func(w *wtx) error {
		var err error
		created, err = w.appendMessage(&m, check)
		return err
	}, hook)
	if err != nil {
		return parley.Message{}, false, err
	}
	if !created {
		// An earlier message: return it with its current reactions.
		m, err = s.Message(ctx, m.ConversationID, m.Seq)
		return m, false, err
	}
	return m, created, nil
}

// Message implements parley.MessageStore.
func (s *Store) Message(ctx context.Context, conversationID string, seq int64) (parley.Message, error) {
	m, err := scanMessage(s.rd.message.QueryRowContext(ctx, conversationID, seq))
	if err != nil {
		return m, translate(err)
	}
	ms := []parley.Message{m}
	if err := s.loadReactions(ctx, ms); err != nil {
		return m, err
	}
	return ms[0], nil
}

// MessageByClientID implements parley.MessageStore.
func (s *Store) MessageByClientID(ctx context.Context, senderID, clientMsgID string) (parley.Message, error) {
	m, err := scanMessage(s.read.QueryRowContext(ctx, `SELECT `+messageCols+messageFrom+`
		WHERE m.sender_id = ? AND m.client_msg_id = ?`, senderID, clientMsgID))
	if err != nil {
		return m, translate(err)
	}
	return s.Message(ctx, m.ConversationID, m.Seq)
}

// History implements parley.MessageStore.
func (s *Store) History(ctx context.Context, conversationID string, q parley.HistoryQuery) ([]parley.Message, error) {
	var rows *sql.Rows
	var err error
	id := conversationID
	switch {
	case q.Member != "" && q.Before > 0:
		rows, err = s.rd.memberBefore.QueryContext(ctx, id, q.Before, id, q.Before, id, q.Member, q.Limit)
	case q.Member != "":
		rows, err = s.rd.memberAfter.QueryContext(ctx, id, q.After, id, q.After, id, q.Member, q.Limit)
	case q.Before > 0:
		rows, err = s.rd.historyBefore.QueryContext(ctx, id, q.Before, id, q.Before, q.Limit)
	default:
		rows, err = s.rd.historyAfter.QueryContext(ctx, id, q.After, id, q.After, q.Limit)
	}
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	// The rows' texts are gathered first and the page allocated at its
	// length: a resync asks for up to 100 messages and usually gets a few,
	// and a Message is ~260 bytes of pointers to zero and scan.
	var buf [64]string
	texts := buf[:0]
	var row string
	var reacted bool
	for rows.Next() {
		if err := rows.Scan(&row, &reacted); err != nil {
			return nil, translate(err)
		}
		texts = append(texts, row)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	rows.Close()
	ms := make([]parley.Message, len(texts))
	var reread []int // indexes in ms of rows that did not parse
	for i, t := range texts {
		m, ok, err := parseMessageRow(conversationID, t)
		if err != nil {
			return nil, translate(err)
		}
		if !ok {
			reread = append(reread, i)
		}
		ms[i] = m
	}
	for _, i := range reread {
		if ms[i], err = scanMessage(s.rd.message.QueryRowContext(ctx, conversationID, ms[i].Seq)); err != nil {
			return nil, translate(err)
		}
	}
	if !reacted {
		return ms, nil // no reaction on this side of the cursor when the page was read
	}
	if err := s.loadReactions(ctx, ms); err != nil {
		return nil, err
	}
	return ms, nil
}

// loadReactions fills in the reactions of ms, which all belong to one conversation.
func (s *Store) loadReactions(ctx context.Context, ms []parley.Message) error {
	if len(ms) == 0 {
		return nil
	}
	lo, hi := ms[0].Seq, ms[0].Seq
	idx := make(map[int64]int, len(ms))
	for i, m := range ms {
		lo, hi = min(lo, m.Seq), max(hi, m.Seq)
		idx[m.Seq] = i
	}
	rows, err := s.rd.reactions.QueryContext(ctx, ms[0].ConversationID, lo, hi)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var emoji, user string
		if err := rows.Scan(&seq, &emoji, &user); err != nil {
			return translate(err)
		}
		i, ok := idx[seq]
		if !ok {
			continue
		}
		ms[i].Reactions = parley.AddReaction(ms[i].Reactions, emoji, user)
	}
	return translate(rows.Err())
}

func (w *wtx) message(conversationID string, seq int64) (parley.Message, error) {
	m, err := scanMessage(w.tx.QueryRowContext(w.ctx, `SELECT `+messageCols+messageFrom+`
		WHERE c.id = ? AND m.seq = ?`, conversationID, seq))
	if err == sql.ErrNoRows {
		return m, parley.ErrMessageNotFound()
	}
	return m, err
}

func (w *wtx) reactions(conversationID string, seq int64) ([]parley.Reaction, error) {
	rows, err := w.tx.QueryContext(w.ctx, `SELECT emoji, user_id FROM reactions
		WHERE conversation_id = ? AND seq = ? ORDER BY created_at, emoji, user_id`, conversationID, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rs := []parley.Reaction{}
	for rows.Next() {
		var emoji, user string
		if err := rows.Scan(&emoji, &user); err != nil {
			return nil, err
		}
		rs = parley.AddReaction(rs, emoji, user)
	}
	return rs, rows.Err()
}

// EditMessage implements parley.MessageStore.
func (s *Store) EditMessage(ctx context.Context, conversationID string, seq int64, body string, mentions []string,
	e2ee json.RawMessage, at time.Time, notify func(parley.Message)) (parley.Message, error) {
	var m parley.Message
	err := s.submit(ctx, true, func(w *wtx) error {
		var err error
		m, err = w.message(conversationID, seq)
		if err != nil {
			return err
		}
		if err := parley.LiveMessage(m); err != nil {
			return err
		}
		// An encrypted message keeps no earlier versions: the old envelope is
		// of no use to anyone who already read it.
		if e2ee == nil {
			if _, err := w.tx.ExecContext(w.ctx, `INSERT INTO message_versions (conversation_id, seq, version, body,
			mentions, until_at) VALUES (?, ?, (SELECT coalesce(max(version), 0) + 1 FROM message_versions
			WHERE conversation_id = ? AND seq = ?), ?, ?, ?)`,
				conversationID, seq, conversationID, seq, m.Body, joinIDs(m.Mentions), millis(at)); err != nil {
				return err
			}
		}
		if _, err := w.tx.ExecContext(w.ctx, `UPDATE messages SET body = ?, mentions = ?, e2ee = ?, edited_at = ?
			WHERE conv = `+convNum+` AND seq = ?`, body, joinIDs(mentions), string(e2ee), millis(at), conversationID, seq); err != nil {
			return err
		}
		m.Body, m.Mentions, m.E2EE = body, mentions, e2ee
		t := fromMillis(millis(at))
		m.EditedAt = &t
		m.Reactions, err = w.reactions(conversationID, seq)
		return err
	}, func() {
		if notify != nil {
			notify(m)
		}
	})
	return m, err
}

// MessageVersions implements parley.MessageStore.
func (s *Store) MessageVersions(ctx context.Context, conversationID string, seq int64) ([]parley.MessageVersion, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT body, mentions, until_at FROM message_versions
		WHERE conversation_id = ? AND seq = ? ORDER BY version`, conversationID, seq)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	vs := []parley.MessageVersion{}
	for rows.Next() {
		var v parley.MessageVersion
		var mentions string
		var until int64
		if err := rows.Scan(&v.Body, &mentions, &until); err != nil {
			return nil, translate(err)
		}
		v.Mentions, v.Until = splitIDs(mentions), fromMillis(until)
		vs = append(vs, v)
	}
	return vs, translate(rows.Err())
}

// DeleteMessage implements parley.MessageStore.
func (s *Store) DeleteMessage(ctx context.Context, conversationID string, seq int64, at time.Time,
	notify func(parley.Message)) (parley.Message, error) {
	var m parley.Message
	var changed bool
	err := s.submit(ctx, true, func(w *wtx) error {
		var err error
		m, err = w.message(conversationID, seq)
		if err != nil || m.Deleted {
			return err
		}
		changed = true
		for _, q := range []string{
			`UPDATE messages SET body = '', mentions = '', attachments = '', e2ee = '', deleted = 1, edited_at = ? WHERE conv = ` + convNum + ` AND seq = ?`,
			`DELETE FROM message_versions WHERE ? > 0 AND conversation_id = ? AND seq = ?`,
			`DELETE FROM reactions WHERE ? > 0 AND conversation_id = ? AND seq = ?`,
		} {
			if _, err := w.tx.ExecContext(w.ctx, q, millis(at), conversationID, seq); err != nil {
				return err
			}
		}
		if err := w.deleteMessageAttachments(conversationID, seq, at); err != nil {
			return err
		}
		t := fromMillis(millis(at))
		m.Body, m.Mentions, m.Reactions, m.Deleted, m.EditedAt, m.E2EE = "", nil, nil, true, &t, nil
		m.Attachments = nil
		return nil
	}, func() {
		if notify != nil && changed {
			notify(m)
		}
	})
	return m, err
}

// React implements parley.MessageStore.
func (s *Store) React(ctx context.Context, conversationID string, seq int64, userID, emoji string, add bool,
	maxEmoji int, at time.Time, notify func([]parley.Reaction)) ([]parley.Reaction, error) {
	var rs []parley.Reaction
	changed := false
	err := s.submit(ctx, true, func(w *wtx) error {
		changed = false
		m, err := w.message(conversationID, seq)
		if err != nil {
			return err
		}
		if err := parley.LiveMessage(m); err != nil {
			return err
		}
		var res sql.Result
		if add {
			var present, distinct int
			if err := w.tx.QueryRowContext(w.ctx, `SELECT count(DISTINCT emoji), count(*) FILTER (WHERE emoji = ?)
				FROM reactions WHERE conversation_id = ? AND seq = ?`, emoji, conversationID, seq).
				Scan(&distinct, &present); err != nil {
				return err
			}
			if err := parley.AdmitReaction(distinct, present > 0, maxEmoji); err != nil {
				return err
			}
			res, err = w.tx.ExecContext(w.ctx, `INSERT INTO reactions (conversation_id, seq, emoji, user_id, created_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, conversationID, seq, emoji, userID, millis(at))
		} else {
			res, err = w.tx.ExecContext(w.ctx, `DELETE FROM reactions WHERE conversation_id = ? AND seq = ? AND emoji = ?
				AND user_id = ?`, conversationID, seq, emoji, userID)
		}
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		changed = n > 0
		rs, err = w.reactions(conversationID, seq)
		return err
	}, func() {
		if notify != nil && changed {
			notify(rs)
		}
	})
	return rs, err
}
