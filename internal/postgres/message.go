package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parley-chat/parley"
)

const messageCols = `conversation_id, seq, id, sender_id, coalesce(client_msg_id, ''), kind, body, reply_to,
	mentions, system, created_at, edited_at, deleted, attachments, e2ee`

func messageColsOf(alias string) string {
	return alias + ".conversation_id, " + alias + ".seq, " + alias + ".id, " + alias + ".sender_id, coalesce(" +
		alias + ".client_msg_id, ''), " + alias + ".kind, " + alias + ".body, " + alias + ".reply_to, " +
		alias + ".mentions, " + alias + ".system, " + alias + ".created_at, " + alias + ".edited_at, " + alias + ".deleted, " + alias + ".attachments, " + alias + ".e2ee"
}

type messageVals struct {
	mentions, system string
	kind             string
	attached         string
	e2ee             string
	created          int64
	edited           *int64
}

func (v *messageVals) dest(m *parley.Message) []any {
	return []any{&m.ConversationID, &m.Seq, &m.ID, &m.SenderID, &m.ClientMsgID, &v.kind, &m.Body, &m.ReplyTo,
		&v.mentions, &v.system, &v.created, &v.edited, &m.Deleted, &v.attached, &v.e2ee}
}

func (v *messageVals) fill(m *parley.Message) error {
	m.Kind = parley.MessageKind(v.kind)
	if v.e2ee != "" {
		m.E2EE = json.RawMessage(v.e2ee)
	}
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

// appendBatch commits the appends of ops in one transaction and two
// pipelined round trips, in three steps:
//
//  1. read (readHeads, round trip 1): BEGIN; lock the conversations (id
//     order) and read their heads; read the senders' roles (for
//     CheckMember), the earlier messages with the same (sender,
//     client_msg_id), and the unsent files the messages claim (locked).
//  2. decide (decideAppends, no I/O): the root's admission rules
//     (parley.AdmitAppend, parley.ClaimAttachments) settle every op in
//     submission order; seqs are assigned.
//  3. write (writeAppends, round trip 2): INSERT every new message (one
//     statement); bind their files (one UPDATE); UPDATE the heads (one
//     statement); COMMIT.
//
// Per-op refusals (not a member, bad reply_to, duplicate…) are stored in
// op.err; the returned error is a failure of the whole batch, after which
// nothing was written and every op's outcome is undecided. In particular a
// statement of round trip 2 failing after the INSERT (the attachment
// binding, say) aborts the transaction: no message row survives to hold a
// seq without an ack (the SQLite store gets the same from batchAbort;
// TestAppendFailingAfterItsRowRollsBackTheBatch).
func (s *Store) appendBatch(ctx context.Context, ops []*op) (err error) {
	for _, o := range ops {
		o.Err, o.app.created = nil, false
	}
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
	inTx = true // from the first statement sent: BEGIN
	st, err := readHeads(ctx, conn, ops)
	if err != nil {
		return err
	}
	cols := st.decide(ops)
	if len(cols.id) == 0 {
		_, err = conn.Exec(ctx, "ROLLBACK")
		inTx = err != nil
		return err
	}
	if err = st.write(ctx, conn, cols); err == nil {
		inTx = false
	}
	return err
}

// batchState is what round trip 1 read, under the batch's locks.
type batchState struct {
	convIDs []string // sorted: the lock order
	heads   map[string]*convState
	roles   map[[2]string]parley.MemberRole // (conversation, sender) → role
	earlier map[clientKey]parley.Message    // committed, then this batch's, by idempotency key
	free    map[string]string               // unsent file id → owner
	// scratch holds one row's strings while it is scanned (Scan's
	// destinations escape: fields of st cost no allocation per row).
	scratch struct{ a, b, c string }
}

// readHeads is round trip 1: it begins the transaction and reads (and
// locks) what the admission rules need.
func readHeads(ctx context.Context, conn *pgxpool.Conn, ops []*op) (*batchState, error) {
	st := &batchState{heads: make(map[string]*convState), roles: make(map[[2]string]parley.MemberRole),
		earlier: make(map[clientKey]parley.Message), free: make(map[string]string)}
	var memberConvs, memberUsers, clientSenders, clientIDs, fileIDs []string
	for _, o := range ops {
		m := &o.app.m
		if _, ok := st.heads[m.ConversationID]; !ok {
			st.heads[m.ConversationID] = nil
			st.convIDs = append(st.convIDs, m.ConversationID)
		}
		if o.app.check == parley.CheckMember {
			memberConvs, memberUsers = append(memberConvs, m.ConversationID), append(memberUsers, m.SenderID)
		}
		if m.ClientMsgID != "" {
			clientSenders, clientIDs = append(clientSenders, m.SenderID), append(clientIDs, m.ClientMsgID)
		}
		for _, a := range m.Attachments {
			fileIDs = append(fileIDs, a.ID)
		}
	}
	sort.Strings(st.convIDs)
	sort.Strings(fileIDs) // the lock order

	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(`SELECT id, last_seq, last_at, broadcast, last_user, last_user_at FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE`, st.convIDs)
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
	if len(fileIDs) > 0 {
		b.Queue(`SELECT id, owner_id FROM attachments WHERE id = ANY($1) AND purpose = 'file'
			AND conversation_id IS NULL AND deleted_at IS NULL ORDER BY id FOR UPDATE`, fileIDs)
	}
	br := conn.SendBatch(ctx, b)
	err := st.scan(br, len(memberConvs) > 0, len(clientIDs) > 0, len(fileIDs) > 0)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return st, err
}

// scan reads round trip 1's results, in the order readHeads queued them.
func (st *batchState) scan(br pgx.BatchResults, roles, earlier, files bool) error {
	if _, err := br.Exec(); err != nil { // BEGIN
		return err
	}
	sc := &st.scratch
	err := scanRows(br, true, func(r pgx.Rows) error {
		cs := &convState{}
		err := r.Scan(&sc.a, &cs.LastSeq, &cs.LastAt, &cs.Broadcast, &cs.LastUser, &cs.LastUserAt)
		st.heads[sc.a] = cs
		return err
	})
	if err == nil {
		err = scanRows(br, roles, func(r pgx.Rows) error {
			err := r.Scan(&sc.a, &sc.b, &sc.c)
			st.roles[[2]string{sc.a, sc.b}] = parley.MemberRole(sc.c)
			return err
		})
	}
	if err == nil {
		err = scanRows(br, earlier, func(r pgx.Rows) error {
			m, err := scanMessage(r)
			st.earlier[clientKey{m.SenderID, m.ClientMsgID}] = m
			return err
		})
	}
	if err == nil {
		err = scanRows(br, files, func(r pgx.Rows) error {
			err := r.Scan(&sc.a, &sc.b)
			st.free[sc.a] = sc.b
			return err
		})
	}
	return err
}

// scanRows calls fn for each row of the batch's next result, if queued.
func scanRows(br pgx.BatchResults, queued bool, fn func(pgx.Rows) error) error {
	if !queued {
		return nil
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// insertColumns are the new messages of a batch as the columns of the
// set-based INSERT (unnest of one array per column), and the files they
// bind.
type insertColumns struct {
	conv, id, sender, client, kind, body, mentions, system, attached, e2ee []string
	seq, reply, created                                                    []int64
	bindID, bindConv                                                       []string
	bindSeq                                                                []int64
}

// newInsertColumns returns columns with room for n messages.
func newInsertColumns(n int) *insertColumns {
	strs := func() []string { return make([]string, 0, n) }
	ints := func() []int64 { return make([]int64, 0, n) }
	return &insertColumns{conv: strs(), id: strs(), sender: strs(), client: strs(), kind: strs(), body: strs(),
		mentions: strs(), system: strs(), attached: strs(), e2ee: strs(), seq: ints(), reply: ints(), created: ints()}
}

func (c *insertColumns) add(m *parley.Message, system, attached string) {
	c.conv, c.seq, c.id, c.sender = append(c.conv, m.ConversationID), append(c.seq, m.Seq), append(c.id, m.ID), append(c.sender, m.SenderID)
	c.client, c.kind, c.body = append(c.client, m.ClientMsgID), append(c.kind, string(m.Kind)), append(c.body, m.Body)
	c.reply, c.mentions, c.system = append(c.reply, m.ReplyTo), append(c.mentions, joinIDs(m.Mentions)), append(c.system, system)
	c.created, c.attached = append(c.created, millis(m.CreatedAt)), append(c.attached, attached)
	c.e2ee = append(c.e2ee, string(m.E2EE))
	for _, a := range m.Attachments {
		c.bindID, c.bindConv, c.bindSeq = append(c.bindID, a.ID), append(c.bindConv, m.ConversationID), append(c.bindSeq, m.Seq)
	}
}

// decide settles every op in submission order by the root's admission
// rules, assigns the seqs of the admitted ones and returns them as the
// columns to insert.
func (st *batchState) decide(ops []*op) *insertColumns {
	c := newInsertColumns(len(ops))
	for _, o := range ops {
		m := &o.app.m
		cs := st.heads[m.ConversationID]
		if cs == nil {
			o.Err = parley.ErrConversationNotFound()
			continue
		}
		var prev *parley.Message
		key := clientKey{m.SenderID, m.ClientMsgID}
		if p, ok := st.earlier[key]; ok && m.ClientMsgID != "" {
			prev = &p
		}
		fresh, err := parley.AdmitAppend(cs.AppendHead, o.app.check, st.roles[[2]string{m.ConversationID, m.SenderID}], m, prev)
		if !fresh {
			o.Err = err
			continue
		}
		system, attached, err := encodeMessage(*m)
		if err != nil {
			o.Err = parley.Internal(err)
			continue
		}
		if err := parley.ClaimAttachments(*m, st.free); err != nil {
			o.Err = err
			continue
		}
		parley.Appended(&cs.AppendHead, m, cs.LastSeq+1)
		cs.dirty = true
		o.app.created = true
		if m.ClientMsgID != "" {
			st.earlier[key] = *m
		}
		c.add(m, system, attached)
	}
	return c
}

// write is round trip 2: it inserts the new messages, binds their files,
// writes the heads and commits.
func (st *batchState) write(ctx context.Context, conn *pgxpool.Conn, c *insertColumns) error {
	var uID, uUser []string
	var uSeq, uAt, uUserAt []int64
	for _, id := range st.convIDs {
		if cs := st.heads[id]; cs != nil && cs.dirty {
			uID, uSeq, uAt = append(uID, id), append(uSeq, cs.LastSeq), append(uAt, cs.LastAt)
			uUser, uUserAt = append(uUser, cs.LastUser), append(uUserAt, cs.LastUserAt)
		}
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO messages (conversation_id, seq, id, sender_id, client_msg_id, kind, body, reply_to,
			mentions, system, created_at, attachments, e2ee)
		SELECT c, s, i, snd, NULLIF(cl, ''), k, b, r, mn, sy, ca, at, e FROM unnest($1::text[], $2::bigint[], $3::text[],
			$4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[])
			AS t(c, s, i, snd, cl, k, b, r, mn, sy, ca, at, e)`,
		c.conv, c.seq, c.id, c.sender, c.client, c.kind, c.body, c.reply, c.mentions, c.system, c.created, c.attached, c.e2ee)
	if len(c.bindID) > 0 {
		b.Queue(`UPDATE attachments a SET conversation_id = v.c, seq = v.s
			FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(id, c, s) WHERE a.id = v.id AND a.id = ANY($1)`,
			c.bindID, c.bindConv, c.bindSeq)
	}
	b.Queue(`UPDATE conversations c SET last_seq = v.seq, last_at = GREATEST(c.last_at, v.at), last_user = v.u, last_user_at = v.uat
		FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[]) AS v(id, seq, at, u, uat)
		WHERE c.id = v.id AND c.id = ANY($1)`,
		uID, uSeq, uAt, uUser, uUserAt)
	b.Queue("COMMIT")
	return conn.SendBatch(ctx, b).Close()
}

// encodeMessage returns the stored forms of m's system info and attachments.
func encodeMessage(m parley.Message) (system, attached string, err error) {
	if system, err = encodeSystem(m.System); err != nil {
		return "", "", err
	}
	attached, err = encodeAttachments(m.Attachments)
	return system, attached, err
}

// AppendSystem appends m unconditionally (parley.CheckNone) inside a
// non-append op's transaction (the system messages of conversation and
// membership changes); the conversation row is locked by conv. It
// implements parley.MemberTx.
func (w *wtx) AppendSystem(m *parley.Message) error {
	cs, err := w.conv(m.ConversationID)
	if err != nil {
		return err
	}
	if _, err := parley.AdmitAppend(cs.AppendHead, parley.CheckNone, "", m, nil); err != nil {
		return err
	}
	system, attached, err := encodeMessage(*m)
	if err != nil {
		return parley.Internal(err)
	}
	seq := cs.LastSeq + 1
	_, err = w.tx.Exec(w.ctx, `INSERT INTO messages (conversation_id, seq, id, sender_id, client_msg_id, kind, body,
		reply_to, mentions, system, created_at, attachments, e2ee) VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8, $9, $10, $11, $12, $13)`,
		m.ConversationID, seq, m.ID, m.SenderID, m.ClientMsgID, string(m.Kind), m.Body, m.ReplyTo,
		joinIDs(m.Mentions), system, millis(m.CreatedAt), attached, string(m.E2EE))
	if err != nil {
		return err
	}
	parley.Appended(&cs.AppendHead, m, seq)
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
		o.Notify = func() {
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
	// The membership condition (HistoryQuery.Member) is part of the page's
	// own statement, so both see one snapshot.
	member := `$4 = '' OR EXISTS (SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $4)`
	if q.Before > 0 {
		rows, err = s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages
			WHERE conversation_id = $1 AND seq < $2 AND (`+member+`) ORDER BY seq DESC LIMIT $3`,
			conversationID, q.Before, q.Limit, q.Member)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages
			WHERE conversation_id = $1 AND seq > $2 AND (`+member+`) ORDER BY seq ASC LIMIT $3`,
			conversationID, q.After, q.Limit, q.Member)
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
		return m, parley.ErrMessageNotFound()
	}
	return m, err
}

// EditMessage implements parley.MessageStore.
func (s *Store) EditMessage(ctx context.Context, conversationID string, seq int64, body string, mentions []string,
	e2ee json.RawMessage, at time.Time, notify func(parley.Message)) (parley.Message, error) {
	var m parley.Message
	err := s.doMessage(ctx, conversationID, func(w *wtx) error {
		var err error
		m, err = w.message(conversationID, seq)
		if err != nil {
			return err
		}
		if err := parley.LiveMessage(m); err != nil {
			return err
		}
		// An encrypted message keeps no earlier versions (sqlite/message.go).
		if e2ee == nil {
			if _, err := w.tx.Exec(w.ctx, `INSERT INTO message_versions (conversation_id, seq, version, body,
			mentions, until_at) VALUES ($1, $2, (SELECT coalesce(max(version), 0) + 1 FROM message_versions
			WHERE conversation_id = $1 AND seq = $2), $3, $4, $5)`,
				conversationID, seq, m.Body, joinIDs(m.Mentions), millis(at)); err != nil {
				return err
			}
		}
		if _, err := w.tx.Exec(w.ctx, `UPDATE messages SET body = $3, mentions = $4, e2ee = $6, edited_at = $5
			WHERE conversation_id = $1 AND seq = $2`, conversationID, seq, body, joinIDs(mentions), millis(at), string(e2ee)); err != nil {
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
		if _, err := w.tx.Exec(w.ctx, `UPDATE messages SET body = '', mentions = '', attachments = '', e2ee = '', deleted = TRUE, edited_at = $3
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
		m.Attachments, m.E2EE = nil, nil
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
