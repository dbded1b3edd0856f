package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// readStmts are the hot read queries, prepared once on the read pool at Open
// so that SQLite does not re-parse them per call. A *sql.Stmt on a *sql.DB
// prepares lazily on each pool connection it runs on and keeps that
// connection's statement, so every read connection parses each query once.
// The write path (commit.go) keeps its own statements.
type readStmts struct {
	session            *sql.Stmt // token_hash
	sessionUser        *sql.Stmt // token_hash
	member             *sql.Stmt // conversation_id, user_id
	receipt            *sql.Stmt // conversation_id, user_id
	historyBefore      *sql.Stmt // conversation id, before (reacted); conversation id, before, limit; messageRow, reacted
	historyAfter       *sql.Stmt // conversation id, after (reacted); conversation id, after, limit; messageRow, reacted
	memberBefore       *sql.Stmt // as historyBefore, then conversation id, user_id (isMember) before limit
	memberAfter        *sql.Stmt // as historyAfter, then conversation id, user_id (isMember) before limit
	missed             *sql.Stmt // ranges (JSON), user_id: missedQuery
	message            *sql.Stmt // conversation id, seq
	reactions          *sql.Stmt // conversation_id, lo, hi
	conversation       *sql.Stmt // id
	conversationIDs    *sql.Stmt // user_id
	conversationStates *sql.Stmt // user_id
	receipts           *sql.Stmt // conversation_id
	memberIDs          *sql.Stmt // conversation_id
	entriesFirst       *sql.Stmt // user_id, limit
	entriesAfter       *sql.Stmt // user_id, last_at, last_at, id, limit
	entry              *sql.Stmt // user_id, conversation id
	postingState       *sql.Stmt // user_id, user_id, conversation id
	blockedPair        *sql.Stmt // a, b, b, a
	notifyTargets      *sql.Stmt // conversation id
	notifyCursor       *sql.Stmt // conversation id
}

// isMember is the condition of parley.HistoryQuery.Member: conversation id, user_id.
const isMember = `EXISTS (SELECT 1 FROM members WHERE conversation_id = ? AND user_id = ?)`

// reactedBefore and reactedAfter are the history pages' last column:
// conversation id, cursor.
const (
	reactedBefore = `EXISTS (SELECT 1 FROM reactions WHERE conversation_id = ? AND seq < ?)`
	reactedAfter  = `EXISTS (SELECT 1 FROM reactions WHERE conversation_id = ? AND seq > ?)`
)

const (
	entriesPage  = ` ORDER BY h.last_at DESC, c.id DESC LIMIT ?`
	entriesAfter = ` AND (h.last_at < ? OR (h.last_at = ? AND c.id < ?))` + entriesPage
	entryByID    = ` AND c.id = ?`
)

// prepareReads prepares s.rd on s.read. On error the statements prepared so
// far are left in s.rd for closeReads.
func (s *Store) prepareReads(ctx context.Context) error {
	var errs []error
	prep := func(dst **sql.Stmt, q string) {
		st, err := s.read.PrepareContext(ctx, q)
		if err != nil {
			errs = append(errs, err)
			return
		}
		*dst = st
	}
	r := &s.rd
	prep(&r.session, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`)
	prep(&r.sessionUser, `SELECT `+qualify("s", sessionColumns)+`, `+qualify("u", userColumns)+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`)
	prep(&r.member, `SELECT `+memberCols+` FROM members WHERE conversation_id = ? AND user_id = ?`)
	prep(&r.receipt, `SELECT delivered_seq, read_seq FROM members WHERE conversation_id = ? AND user_id = ?`)
	// The page statements end with a constant column, reacted: whether
	// any reaction exists on the page's side of the cursor (one index seek,
	// in the page's read); History reads the reactions only if so. The
	// membership condition does not refer to the outer row either: SQLite
	// evaluates both once per statement.
	prep(&r.historyBefore, `SELECT `+messageRow+`, `+reactedBefore+` FROM messages m
		WHERE m.conv = `+convNum+` AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`)
	prep(&r.historyAfter, `SELECT `+messageRow+`, `+reactedAfter+` FROM messages m
		WHERE m.conv = `+convNum+` AND m.seq > ? ORDER BY m.seq ASC LIMIT ?`)
	prep(&r.memberBefore, `SELECT `+messageRow+`, `+reactedBefore+` FROM messages m
		WHERE m.conv = `+convNum+` AND m.seq < ? AND `+isMember+` ORDER BY m.seq DESC LIMIT ?`)
	prep(&r.memberAfter, `SELECT `+messageRow+`, `+reactedAfter+` FROM messages m
		WHERE m.conv = `+convNum+` AND m.seq > ? AND `+isMember+` ORDER BY m.seq ASC LIMIT ?`)
	prep(&r.missed, missedQuery)
	prep(&r.message, `SELECT `+messageCols+messageFrom+` WHERE c.id = ? AND m.seq = ?`)
	prep(&r.reactions, `SELECT seq, emoji, user_id FROM reactions
		WHERE conversation_id = ? AND seq BETWEEN ? AND ? ORDER BY seq, created_at, emoji, user_id`)
	prep(&r.conversation, `SELECT `+conversationCols+conversationFrom+` WHERE c.id = ?`)
	prep(&r.conversationIDs, `SELECT conversation_id FROM members WHERE user_id = ? ORDER BY conversation_id`)
	prep(&r.conversationStates, `SELECT m.conversation_id, h.last_seq, m.delivered_seq, m.read_seq
		FROM members m JOIN conversations c ON c.id = m.conversation_id
		JOIN conversation_heads h ON h.num = c.num WHERE m.user_id = ?`)
	prep(&r.receipts, `SELECT user_id, delivered_seq, read_seq FROM members
		WHERE conversation_id = ? ORDER BY user_id`)
	prep(&r.memberIDs, `SELECT user_id FROM members WHERE conversation_id = ? ORDER BY user_id`)
	prep(&r.entriesFirst, entriesQuery(entriesPage))
	prep(&r.entriesAfter, entriesQuery(entriesAfter))
	prep(&r.entry, entriesQuery(entryByID))
	prep(&r.postingState, `SELECT c.kind, c.encrypted, coalesce(m.role, ''), c.direct_key, coalesce(r.rules, ''),
			coalesce(mm.muted_until, 0), coalesce(mm.last_post_at, 0)
		FROM conversations c
		LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = ?
		LEFT JOIN conversation_rules r ON r.conversation_id = c.id
		LEFT JOIN member_moderation mm ON mm.conversation_id = c.id AND mm.user_id = ?
		WHERE c.id = ?`)
	prep(&r.blockedPair, `SELECT count(*) FROM blocks
		WHERE blocker_id = ? AND blocked_id = ? OR blocker_id = ? AND blocked_id = ?`)
	prep(&r.notifyTargets, `SELECT m.user_id, m.role, m.muted, m.read_seq,
		coalesce(p.level, ''), coalesce(p.quiet_start, ''), coalesce(p.quiet_end, ''), coalesce(p.time_zone, ''),
		coalesce(p.previews, 0), n.muted_until, coalesce(n.mentions_only, 0),
		EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = m.user_id)
			OR EXISTS (SELECT 1 FROM push_devices pd WHERE pd.user_id = m.user_id),
		u.email <> ''
		FROM members m
		JOIN users u ON u.id = m.user_id
		LEFT JOIN notify_prefs p ON p.user_id = m.user_id
		LEFT JOIN conversation_notify n ON n.conversation_id = m.conversation_id AND n.user_id = m.user_id
		WHERE m.conversation_id = ? ORDER BY m.user_id`)
	prep(&r.notifyCursor, `SELECT coalesce(n.notified_seq, 0), h.last_seq FROM conversations c
		JOIN conversation_heads h ON h.num = c.num
		LEFT JOIN notify_cursors n ON n.conversation_id = c.id WHERE c.id = ?`)
	return errors.Join(errs...)
}

// closeReads closes the prepared read statements (nil ones are skipped). The
// fields stay set: a read racing Close gets "statement is closed", and a
// second Close is a no-op (sql.Stmt.Close is idempotent).
func (s *Store) closeReads() error {
	r := &s.rd
	var errs []error
	for _, st := range []*sql.Stmt{r.session, r.sessionUser, r.member, r.receipt, r.historyBefore, r.historyAfter,
		r.memberBefore, r.memberAfter, r.missed, r.message,
		r.reactions, r.conversation, r.conversationIDs, r.conversationStates, r.receipts, r.memberIDs,
		r.entriesFirst, r.entriesAfter, r.entry, r.postingState, r.blockedPair, r.notifyTargets, r.notifyCursor} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// entriesQuery is the conversation-entries read; tail continues the WHERE
// clause after m.user_id = ?.
func entriesQuery(tail string) string {
	return `SELECT ` + conversationCols + `, ` + memberColsOf("m") + `,
		(SELECT count(*) FROM messages x WHERE x.conv = c.num AND x.seq > m.read_seq
			AND x.sender_id != m.user_id AND x.deleted = 0 AND x.kind = 'user')
		FROM members m JOIN conversations c ON c.id = m.conversation_id
		JOIN conversation_heads h ON h.num = c.num
		WHERE m.user_id = ?` + tail
}
