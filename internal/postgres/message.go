package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const messageCols = `conversation_id, seq, id, sender_id, coalesce(client_msg_id, ''), kind, body, reply_to,
	mentions, system, created_at, edited_at, deleted, attachments`

func messageColsOf(alias string) string {
	return alias + ".conversation_id, " + alias + ".seq, " + alias + ".id, " + alias + ".sender_id, coalesce(" +
		alias + ".client_msg_id, ''), " + alias + ".kind, " + alias + ".body, " + alias + ".reply_to, " +
		alias + ".mentions, " + alias + ".system, " + alias + ".created_at, " + alias + ".edited_at, " + alias + ".deleted, " + alias + ".attachments"
}

type messageVals struct {
	mentions, system string
	kind             string
	attached         string
	created          int64
	edited           *int64
}

func (v *messageVals) dest(m *parley.Message) []any {
	return []any{&m.ConversationID, &m.Seq, &m.ID, &m.SenderID, &m.ClientMsgID, &v.kind, &m.Body, &m.ReplyTo,
		&v.mentions, &v.system, &v.created, &v.edited, &m.Deleted, &v.attached}
}

func (v *messageVals) fill(m *parley.Message) error {
	m.Kind = parley.MessageKind(v.kind)
	m.Mentions = splitIDs(v.mentions)
	if v.system != "" {
		m.System = new(parley.SystemInfo)
		if err := json.Unmarshal([]byte(v.system), m.System); err != nil {
			return err
		}
	}
	var err error
	if m.Attachments, err = decodeAttachments(v.attached); err != nil {
		return err
	}
	m.CreatedAt = fromMillis(v.created)
	if v.edited != nil {
		t := fromMillis(*v.edited)
		m.EditedAt = &t
	}
	return nil
}

func scanMessage(r pgx.Row) (parley.Message, error) {
	var m parley.Message
	var v messageVals
	if err := r.Scan(v.dest(&m)...); err != nil {
		return parley.Message{}, err
	}
	return m, v.fill(&m)
}

func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func joinIDs(ids []string) string { return strings.Join(ids, " ") }

func encodeSystem(info *parley.SystemInfo) (string, error) {
	if info == nil {
		return "", nil
	}
	b, err := json.Marshal(info)
	return string(b), err
}

type clientKey struct{ sender, client string }

// appendReq is one AppendMessage in a batch: m goes in and, on success,
// holds the stored message (created) or the earlier one with the same
// client_msg_id (not created).
type appendReq struct {
	m       parley.Message
	check   parley.AppendCheck
	created bool
}

// sameConversation replaces *m with the earlier message prev that has the
// same idempotency key, or refuses if prev lives in another conversation.
func sameConversation(m *parley.Message, prev parley.Message) error {
	if prev.ConversationID != m.ConversationID {
		return &parley.Error{Code: parley.CodeConflict, Field: "client_msg_id",
			Message: "client_msg_id was already used for a message in another conversation"}
	}
	*m = prev
	return nil
}

// appendBatch commits the appends of ops in one transaction and two
// pipelined round trips:
//
//  1. BEGIN; lock the conversations (id order) and read last_seq; read the
//     senders' memberships (for CheckMember); read earlier messages with
//     the same (sender, client_msg_id).
//  2. INSERT every new message (one statement); bind their attachments
//     (one UPDATE); UPDATE last_seq of every conversation (one statement);
//     COMMIT.
//
// Between the two, seqs are assigned and every op's outcome decided in Go.
// Per-op refusals (not a member, bad reply_to, duplicate…) are stored in
// op.err; the returned error is a failure of the whole batch, after which
// nothing was written and every op's outcome is undecided. In particular a
// statement of round trip 2 failing after the INSERT (the attachment
// binding, say) aborts the transaction: no message row survives to hold a
// seq without an ack (the SQLite store gets the same from batchAbort;
// TestAppendFailingAfterItsRowRollsBackTheBatch).
func (s *Store) appendBatch(ctx context.Context, ops []*op) (err error) {
	for _, o := range ops {
		o.err, o.app.created = nil, false
	}
	convSet := make(map[string]struct{})
	var memberConvs, memberUsers, clientSenders, clientIDs []string
	for _, o := range ops {
		m := &o.app.m
		convSet[m.ConversationID] = struct{}{}
		if o.app.check == parley.CheckMember {
			memberConvs = append(memberConvs, m.ConversationID)
			memberUsers = append(memberUsers, m.SenderID)
		}
		if m.ClientMsgID != "" {
			clientSenders = append(clientSenders, m.SenderID)
			clientIDs = append(clientIDs, m.ClientMsgID)
		}
	}
	convIDs := make([]string, 0, len(convSet))
	for id := range convSet {
		convIDs = append(convIDs, id)
	}
	sort.Strings(convIDs)

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	inTx := false
	defer func() {
		if err != nil && inTx {
			if _, rerr := conn.Exec(context.Background(), "ROLLBACK"); rerr != nil {
				_ = conn.Conn().Close(context.Background()) // the pool discards it
			}
		}
	}()

	// Round trip 1.
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(`SELECT id, last_seq, last_at, broadcast FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE`, convIDs)
	if len(memberConvs) > 0 {
		// LATERAL … LIMIT 1 keeps one index probe per key whatever the
		// statistics were when the statement was prepared (a generic plan
		// made on an empty table would otherwise scan the whole table).
		b.Queue(`SELECT k.c, k.u, m.role FROM unnest($1::text[], $2::text[]) AS k(c, u)
			CROSS JOIN LATERAL (SELECT x.role FROM members x WHERE x.conversation_id = k.c AND x.user_id = k.u LIMIT 1) m`,
			memberConvs, memberUsers)
	}
	if len(clientIDs) > 0 {
		b.Queue(`SELECT m.* FROM unnest($1::text[], $2::text[]) AS k(s, c)
			CROSS JOIN LATERAL (SELECT `+messageColsOf("x")+` FROM messages x
				WHERE x.sender_id = k.s AND x.client_msg_id = k.c LIMIT 1) m`,
			clientSenders, clientIDs)
	}
	attIDs := attachmentIDs(ops)
	if len(attIDs) > 0 {
		b.Queue(`SELECT id, owner_id FROM attachments WHERE id = ANY($1) AND purpose = 'file'
			AND conversation_id IS NULL AND deleted_at IS NULL ORDER BY id FOR UPDATE`, attIDs)
	}
	br := conn.SendBatch(ctx, b)
	inTx = true
	free := make(map[string]string) // unsent file id → owner
	convs := make(map[string]*convState, len(convIDs))
	roles := make(map[[2]string]parley.MemberRole)
	earlier := make(map[clientKey]parley.Message)
	err = func() error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			cs := &convState{}
			if err := rows.Scan(&id, &cs.lastSeq, &cs.lastAt, &cs.broadcast); err != nil {
				rows.Close()
				return err
			}
			convs[id] = cs
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(memberConvs) > 0 {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				var c, u, role string
				if err := rows.Scan(&c, &u, &role); err != nil {
					rows.Close()
					return err
				}
				roles[[2]string{c, u}] = parley.MemberRole(role)
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if len(clientIDs) > 0 {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				var m parley.Message
				var v messageVals
				if err := rows.Scan(v.dest(&m)...); err != nil {
					rows.Close()
					return err
				}
				if err := v.fill(&m); err != nil {
					rows.Close()
					return err
				}
				earlier[clientKey{m.SenderID, m.ClientMsgID}] = m
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if len(attIDs) > 0 {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				var id, owner string
				if err := rows.Scan(&id, &owner); err != nil {
					rows.Close()
					return err
				}
				free[id] = owner
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	// Decide every op's outcome and assign seqs, in submission order.
	n := len(ops)
	var (
		cConv, cID, cSender, cClient, cKind, cBody, cMentions, cSystem = make([]string, 0, n), make([]string, 0, n),
			make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n),
			make([]string, 0, n), make([]string, 0, n)
		cSeq, cReply, cCreated = make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
		cAttached              = make([]string, 0, n)
		bID, bConv             []string // files bound to the new messages
		bSeq                   []int64
	)
	for _, o := range ops {
		m := &o.app.m
		cs, ok := convs[m.ConversationID]
		if !ok {
			o.err = parley.Errorf(parley.CodeNotFound, "conversation not found")
			continue
		}
		if o.app.check == parley.CheckMember {
			role, ok := roles[[2]string{m.ConversationID, m.SenderID}]
			if !ok {
				o.err = parley.Errorf(parley.CodeNotFound, "conversation not found")
				continue
			}
			if cs.broadcast && !role.Manager() {
				o.err = parley.Errorf(parley.CodeForbidden, "only owners and admins post in this broadcast channel")
				continue
			}
		}
		key := clientKey{m.SenderID, m.ClientMsgID}
		if m.ClientMsgID != "" {
			if prev, ok := earlier[key]; ok {
				o.err = sameConversation(m, prev)
				continue
			}
		}
		if m.ReplyTo < 0 || m.ReplyTo > cs.lastSeq {
			o.err = parley.Invalid("reply_to", "reply_to %d is not a message of this conversation", m.ReplyTo)
			continue
		}
		system, err := encodeSystem(m.System)
		if err != nil {
			o.err = parley.Internal(err)
			continue
		}
		attached, err := encodeAttachments(m.Attachments)
		if err != nil {
			o.err = parley.Internal(err)
			continue
		}
		if err := claimAttachments(m, free); err != nil {
			o.err = err
			continue
		}
		cs.lastSeq++
		cs.lastAt = max(cs.lastAt, millis(m.CreatedAt))
		cs.dirty = true
		m.Seq = cs.lastSeq
		m.CreatedAt = fromMillis(millis(m.CreatedAt))
		m.Reactions, m.EditedAt, m.Deleted = nil, nil, false
		o.app.created = true
		if m.ClientMsgID != "" {
			earlier[key] = *m
		}
		cConv, cSeq, cID, cSender = append(cConv, m.ConversationID), append(cSeq, m.Seq), append(cID, m.ID), append(cSender, m.SenderID)
		cClient, cKind, cBody = append(cClient, m.ClientMsgID), append(cKind, string(m.Kind)), append(cBody, m.Body)
		cReply, cMentions, cSystem = append(cReply, m.ReplyTo), append(cMentions, joinIDs(m.Mentions)), append(cSystem, system)
		cCreated, cAttached = append(cCreated, millis(m.CreatedAt)), append(cAttached, attached)
		for _, a := range m.Attachments {
			bID, bConv, bSeq = append(bID, a.ID), append(bConv, m.ConversationID), append(bSeq, m.Seq)
		}
	}
	if len(cConv) == 0 {
		_, err = conn.Exec(ctx, "ROLLBACK")
		inTx = err != nil
		return err
	}
	var uID []string
	var uSeq, uAt []int64
	for _, id := range convIDs {
		if cs := convs[id]; cs != nil && cs.dirty {
			uID, uSeq, uAt = append(uID, id), append(uSeq, cs.lastSeq), append(uAt, cs.lastAt)
		}
	}

	// Round trip 2.
	b = &pgx.Batch{}
	b.Queue(`INSERT INTO messages (conversation_id, seq, id, sender_id, client_msg_id, kind, body, reply_to,
			mentions, system, created_at, attachments)
		SELECT c, s, i, snd, NULLIF(cl, ''), k, b, r, mn, sy, ca, at FROM unnest($1::text[], $2::bigint[], $3::text[],
			$4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::bigint[], $12::text[])
			AS t(c, s, i, snd, cl, k, b, r, mn, sy, ca, at)`,
		cConv, cSeq, cID, cSender, cClient, cKind, cBody, cReply, cMentions, cSystem, cCreated, cAttached)
	if len(bID) > 0 {
		b.Queue(`UPDATE attachments a SET conversation_id = v.c, seq = v.s
			FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(id, c, s) WHERE a.id = v.id AND a.id = ANY($1)`,
			bID, bConv, bSeq)
	}
	b.Queue(`UPDATE conversations c SET last_seq = v.seq, last_at = GREATEST(c.last_at, v.at)
		FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(id, seq, at) WHERE c.id = v.id AND c.id = ANY($1)`,
		uID, uSeq, uAt)
	b.Queue("COMMIT")
	err = conn.SendBatch(ctx, b).Close()
	if err == nil {
		inTx = false
	}
	return err
}

// appendMessage appends m inside a non-append op's transaction (system
// messages of membership changes); the conversation row is locked by conv.
func (w *wtx) appendMessage(m *parley.Message, check parley.AppendCheck) error {
	cs, err := w.conv(m.ConversationID)
	if err != nil {
		return err
	}
	if check == parley.CheckMember {
		var role string
		err := w.tx.QueryRow(w.ctx, `SELECT role FROM members WHERE conversation_id = $1 AND user_id = $2`,
			m.ConversationID, m.SenderID).Scan(&role)
		if errors.Is(err, pgx.ErrNoRows) {
			return parley.Errorf(parley.CodeNotFound, "conversation not found")
		}
		if err != nil {
			return err
		}
		if cs.broadcast && !parley.MemberRole(role).Manager() {
			return parley.Errorf(parley.CodeForbidden, "only owners and admins post in this broadcast channel")
		}
	}
	if m.ReplyTo < 0 || m.ReplyTo > cs.lastSeq {
		return parley.Invalid("reply_to", "reply_to %d is not a message of this conversation", m.ReplyTo)
	}
	system, err := encodeSystem(m.System)
	if err != nil {
		return parley.Internal(err)
	}
	seq := cs.lastSeq + 1
	_, err = w.tx.Exec(w.ctx, `INSERT INTO messages (conversation_id, seq, id, sender_id, client_msg_id, kind, body,
		reply_to, mentions, system, created_at) VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8, $9, $10, $11)`,
		m.ConversationID, seq, m.ID, m.SenderID, m.ClientMsgID, string(m.Kind), m.Body, m.ReplyTo,
		joinIDs(m.Mentions), system, millis(m.CreatedAt))
	if err != nil {
		return err
	}
	m.Seq = seq
	m.CreatedAt = fromMillis(millis(m.CreatedAt))
	m.Reactions, m.EditedAt, m.Deleted = nil, nil, false
	cs.lastSeq = seq
	cs.lastAt = max(cs.lastAt, millis(m.CreatedAt))
	cs.dirty = true
	return nil
}

// AppendMessage implements parley.MessageStore; see the contract there and
// the committer (committer.go) for how appends are batched.
func (s *Store) AppendMessage(ctx context.Context, m parley.Message, check parley.AppendCheck,
	notify func(parley.Message)) (parley.Message, bool, error) {
	req := &appendReq{m: m, check: check}
	o := &op{app: req}
	if notify != nil {
		o.notify = func() {
			if req.created {
				notify(req.m)
			}
		}
	}
	if err := s.submit(ctx, o); err != nil {
		return parley.Message{}, false, err
	}
	if !req.created {
		// An earlier message: return it with its current reactions.
		prev, err := s.Message(ctx, req.m.ConversationID, req.m.Seq)
		return prev, false, err
	}
	return req.m, true, nil
}

// Message implements parley.MessageStore.
func (s *Store) Message(ctx context.Context, conversationID string, seq int64) (parley.Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages
		WHERE conversation_id = $1 AND seq = $2`, conversationID, seq))
	if err != nil {
		return parley.Message{}, notFound(err, "message not found")
	}
	ms := []parley.Message{m}
	if err := s.loadReactions(ctx, ms); err != nil {
		return parley.Message{}, err
	}
	return ms[0], nil
}

// MessageByClientID implements parley.MessageStore.
func (s *Store) MessageByClientID(ctx context.Context, senderID, clientMsgID string) (parley.Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages
		WHERE sender_id = $1 AND client_msg_id = $2`, senderID, clientMsgID))
	if err != nil {
		return parley.Message{}, notFound(err, "message not found")
	}
	ms := []parley.Message{m}
	if err := s.loadReactions(ctx, ms); err != nil {
		return parley.Message{}, err
	}
	return ms[0], nil
}

// History implements parley.MessageStore.
func (s *Store) History(ctx context.Context, conversationID string, q parley.HistoryQuery) ([]parley.Message, error) {
	var rows pgx.Rows
	var err error
	if q.Before > 0 {
		rows, err = s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages
			WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, conversationID, q.Before, q.Limit)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages
			WHERE conversation_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3`, conversationID, q.After, q.Limit)
	}
	if err != nil {
		return nil, translate(err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, translate(err)
	}
	if ms == nil {
		ms = []parley.Message{}
	}
	if err := s.loadReactions(ctx, ms); err != nil {
		return nil, err
	}
	return ms, nil
}

func (w *wtx) message(conversationID string, seq int64) (parley.Message, error) {
	m, err := scanMessage(w.tx.QueryRow(w.ctx, `SELECT `+messageCols+` FROM messages
		WHERE conversation_id = $1 AND seq = $2 FOR UPDATE`, conversationID, seq))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, parley.Errorf(parley.CodeNotFound, "message not found")
	}
	return m, err
}

// EditMessage implements parley.MessageStore.
func (s *Store) EditMessage(ctx context.Context, conversationID string, seq int64, body string, mentions []string,
	at time.Time, notify func(parley.Message)) (parley.Message, error) {
	var m parley.Message
	err := s.doMessage(ctx, conversationID, func(w *wtx) error {
		var err error
		m, err = w.message(conversationID, seq)
		if err != nil {
			return err
		}
		if m.Deleted {
			return parley.Errorf(parley.CodeNotFound, "message not found")
		}
		if _, err := w.tx.Exec(w.ctx, `INSERT INTO message_versions (conversation_id, seq, version, body,
			mentions, until_at) VALUES ($1, $2, (SELECT coalesce(max(version), 0) + 1 FROM message_versions
			WHERE conversation_id = $1 AND seq = $2), $3, $4, $5)`,
			conversationID, seq, m.Body, joinIDs(m.Mentions), millis(at)); err != nil {
			return err
		}
		if _, err := w.tx.Exec(w.ctx, `UPDATE messages SET body = $3, mentions = $4, edited_at = $5
			WHERE conversation_id = $1 AND seq = $2`, conversationID, seq, body, joinIDs(mentions), millis(at)); err != nil {
			return err
		}
		m.Body, m.Mentions = body, mentions
		t := fromMillis(millis(at))
		m.EditedAt = &t
		m.Reactions, err = w.reactions(conversationID, seq)
		return err
	}, func() {
		if notify != nil {
			notify(m)
		}
	})
	if err != nil {
		return parley.Message{}, err
	}
	return m, nil
}

// MessageVersions implements parley.MessageStore.
func (s *Store) MessageVersions(ctx context.Context, conversationID string, seq int64) ([]parley.MessageVersion, error) {
	rows, err := s.pool.Query(ctx, `SELECT body, mentions, until_at FROM message_versions
		WHERE conversation_id = $1 AND seq = $2 ORDER BY version`, conversationID, seq)
	if err != nil {
		return nil, translate(err)
	}
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (parley.MessageVersion, error) {
		var v parley.MessageVersion
		var mentions string
		var until int64
		err := r.Scan(&v.Body, &mentions, &until)
		v.Mentions, v.Until = splitIDs(mentions), fromMillis(until)
		return v, err
	})
	if err != nil {
		return nil, translate(err)
	}
	if vs == nil {
		vs = []parley.MessageVersion{}
	}
	return vs, nil
}

// DeleteMessage implements parley.MessageStore.
func (s *Store) DeleteMessage(ctx context.Context, conversationID string, seq int64, at time.Time,
	notify func(parley.Message)) (parley.Message, error) {
	var m parley.Message
	var changed bool
	err := s.doMessage(ctx, conversationID, func(w *wtx) error {
		var err error
		m, err = w.message(conversationID, seq)
		if err != nil || m.Deleted {
			return err
		}
		changed = true
		if err := w.deleteMessageAttachments(conversationID, seq, at); err != nil {
			return err
		}
		if _, err := w.tx.Exec(w.ctx, `UPDATE messages SET body = '', mentions = '', attachments = '', deleted = TRUE, edited_at = $3
			WHERE conversation_id = $1 AND seq = $2`, conversationID, seq, millis(at)); err != nil {
			return err
		}
		if _, err := w.tx.Exec(w.ctx, `DELETE FROM message_versions WHERE conversation_id = $1 AND seq = $2`,
			conversationID, seq); err != nil {
			return err
		}
		if _, err := w.tx.Exec(w.ctx, `DELETE FROM reactions WHERE conversation_id = $1 AND seq = $2`,
			conversationID, seq); err != nil {
			return err
		}
		t := fromMillis(millis(at))
		m.Body, m.Mentions, m.Reactions, m.Deleted, m.EditedAt = "", nil, nil, true, &t
		m.Attachments = nil
		return nil
	}, func() {
		if notify != nil && changed {
			notify(m)
		}
	})
	if err != nil {
		return parley.Message{}, err
	}
	return m, nil
}
