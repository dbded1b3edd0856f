package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// Notification settings and queue; the same SQL as internal/sqlite/notify.go.

// NotifyPrefs implements parley.NotifyStore.
func (s *Store) NotifyPrefs(ctx context.Context, userID string) (parley.NotifyPrefs, error) {
	var p parley.NotifyPrefs
	var qs, qe string
	err := s.pool.QueryRow(ctx, `SELECT level, quiet_start, quiet_end, time_zone, previews
		FROM notify_prefs WHERE user_id = $1`, userID).Scan(&p.Level, &qs, &qe, &p.TimeZone, &p.Previews)
	if errors.Is(err, pgx.ErrNoRows) {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE id = $1`, userID).Scan(&n); err != nil {
			return p, translate(err)
		} else if n == 0 {
			return p, parley.Errorf(parley.CodeNotFound, "user not found")
		}
		return parley.DefaultNotifyPrefs(), nil
	}
	if err != nil {
		return p, translate(err)
	}
	if qs != "" {
		p.QuietHours = &parley.QuietHours{Start: qs, End: qe}
	}
	return p.Normalize(), nil
}

// SetNotifyPrefs implements parley.NotifyStore.
func (s *Store) SetNotifyPrefs(ctx context.Context, userID string, p parley.NotifyPrefs) error {
	var qs, qe string
	if p.QuietHours != nil {
		qs, qe = p.QuietHours.Start, p.QuietHours.End
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO notify_prefs (user_id, level, quiet_start, quiet_end, time_zone, previews)
		SELECT id, $2, $3, $4, $5, $6 FROM users WHERE id = $1
		ON CONFLICT (user_id) DO UPDATE SET level = excluded.level,
		quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, time_zone = excluded.time_zone,
		previews = excluded.previews`, userID, string(p.Level), qs, qe, p.TimeZone, p.Previews)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "user not found")
	}
	return nil
}

// ConversationNotify implements parley.NotifyStore.
func (s *Store) ConversationNotify(ctx context.Context, conversationID, userID string) (parley.ConversationNotify, error) {
	var c parley.ConversationNotify
	var until *int64
	var mo *bool
	err := s.pool.QueryRow(ctx, `SELECT n.muted_until, n.mentions_only FROM members m
		LEFT JOIN conversation_notify n ON n.conversation_id = m.conversation_id AND n.user_id = m.user_id
		WHERE m.conversation_id = $1 AND m.user_id = $2`, conversationID, userID).Scan(&until, &mo)
	if err != nil {
		return c, notFound(err, "not a member")
	}
	if until != nil {
		t := fromMillis(*until)
		c.MutedUntil = &t
	}
	c.MentionsOnly = mo != nil && *mo
	return c, nil
}

// SetConversationNotify implements parley.NotifyStore.
func (s *Store) SetConversationNotify(ctx context.Context, conversationID, userID string, c parley.ConversationNotify) error {
	var until *int64
	if c.MutedUntil != nil {
		ms := millis(*c.MutedUntil)
		until = &ms
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO conversation_notify (conversation_id, user_id, muted_until, mentions_only)
		SELECT conversation_id, user_id, $3, $4 FROM members WHERE conversation_id = $1 AND user_id = $2
		ON CONFLICT (conversation_id, user_id) DO UPDATE SET
		muted_until = excluded.muted_until, mentions_only = excluded.mentions_only`,
		conversationID, userID, until, c.MentionsOnly)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "not a member")
	}
	return nil
}

// NotifyTargets implements parley.NotifyStore.
func (s *Store) NotifyTargets(ctx context.Context, conversationID string) ([]parley.NotifyTarget, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.user_id, m.role, m.muted, m.read_seq,
		coalesce(p.level, ''), coalesce(p.quiet_start, ''), coalesce(p.quiet_end, ''), coalesce(p.time_zone, ''),
		coalesce(p.previews, FALSE), n.muted_until, coalesce(n.mentions_only, FALSE),
		EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = m.user_id)
			OR EXISTS (SELECT 1 FROM push_devices pd WHERE pd.user_id = m.user_id),
		u.email <> ''
		FROM members m
		JOIN users u ON u.id = m.user_id
		LEFT JOIN notify_prefs p ON p.user_id = m.user_id
		LEFT JOIN conversation_notify n ON n.conversation_id = m.conversation_id AND n.user_id = m.user_id
		WHERE m.conversation_id = $1 ORDER BY m.user_id`, conversationID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []parley.NotifyTarget
	for rows.Next() {
		var t parley.NotifyTarget
		var qs, qe string
		var until *int64
		if err := rows.Scan(&t.UserID, &t.Role, &t.Muted, &t.ReadSeq, &t.Prefs.Level, &qs, &qe, &t.Prefs.TimeZone,
			&t.Prefs.Previews, &until, &t.Conv.MentionsOnly, &t.Push, &t.Email); err != nil {
			return nil, translate(err)
		}
		if qs != "" {
			t.Prefs.QuietHours = &parley.QuietHours{Start: qs, End: qe}
		}
		if until != nil {
			u := fromMillis(*until)
			t.Conv.MutedUntil = &u
		}
		t.Prefs = t.Prefs.Normalize()
		out = append(out, t)
	}
	return out, translate(rows.Err())
}

// NotifyCursor implements parley.NotifyStore.
func (s *Store) NotifyCursor(ctx context.Context, conversationID string) (parley.NotifyCursor, error) {
	c := parley.NotifyCursor{ConversationID: conversationID}
	err := s.pool.QueryRow(ctx, `SELECT coalesce(h.notified_seq, 0), c.last_seq FROM conversations c
		LEFT JOIN notify_cursors h ON h.conversation_id = c.id WHERE c.id = $1`, conversationID).
		Scan(&c.NotifiedSeq, &c.LastSeq)
	return c, notFound(err, "conversation not found")
}

// NotifyBacklog implements parley.NotifyStore.
func (s *Store) NotifyBacklog(ctx context.Context, limit int) ([]parley.NotifyCursor, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.id, coalesce(h.notified_seq, 0), c.last_seq FROM conversations c
		LEFT JOIN notify_cursors h ON h.conversation_id = c.id
		WHERE c.last_seq > coalesce(h.notified_seq, 0) ORDER BY c.last_at, c.id LIMIT $1`, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []parley.NotifyCursor
	for rows.Next() {
		var c parley.NotifyCursor
		if err := rows.Scan(&c.ConversationID, &c.NotifiedSeq, &c.LastSeq); err != nil {
			return nil, translate(err)
		}
		out = append(out, c)
	}
	return out, translate(rows.Err())
}

// AdvanceNotify implements parley.NotifyStore. The cursor row is created
// if missing and then locked, so concurrent advances of one conversation
// serialise and all but the first see the cursor moved.
func (s *Store) AdvanceNotify(ctx context.Context, conversationID string, from, to int64, ns []parley.Notification) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO notify_cursors (conversation_id, notified_seq)
			SELECT id, 0 FROM conversations WHERE id = $1 ON CONFLICT (conversation_id) DO NOTHING`, conversationID)
		if err != nil {
			return err
		}
		var cur int64
		err = tx.QueryRow(ctx, `SELECT notified_seq FROM notify_cursors WHERE conversation_id = $1 FOR UPDATE`,
			conversationID).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) && tag.RowsAffected() == 0 {
			return parley.Errorf(parley.CodeNotFound, "conversation not found")
		} else if err != nil {
			return err
		}
		if cur != from {
			return parley.Errorf(parley.CodeConflict, "notification cursor moved")
		}
		if _, err := tx.Exec(ctx, `UPDATE notify_cursors SET notified_seq = $2 WHERE conversation_id = $1`,
			conversationID, to); err != nil {
			return err
		}
		for _, n := range ns {
			if _, err := tx.Exec(ctx, sqlEnqueueNotification, parley.NewID(), n.UserID, conversationID,
				string(n.Channel), n.Seq, n.Count, string(n.Reason), millis(n.NextAt), millis(n.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
}

// sqlEnqueueNotification inserts or collapses one entry (AdvanceNotify).
const sqlEnqueueNotification = `INSERT INTO notifications
	(id, user_id, conversation_id, channel, seq, count, reason, rev, attempts, next_at, created_at, last_error)
	VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 0, $8, $9, '')
	ON CONFLICT (user_id, conversation_id, channel) DO UPDATE SET
	seq = greatest(notifications.seq, excluded.seq), count = notifications.count + excluded.count,
	reason = CASE WHEN excluded.reason = 'direct' OR notifications.reason = 'message' THEN excluded.reason
		ELSE notifications.reason END,
	rev = notifications.rev + 1, attempts = 0, last_error = '', next_at = excluded.next_at`

const notificationCols = `id, user_id, conversation_id, channel, seq, count, reason, rev, attempts, next_at, created_at, last_error`

func scanNotifications(rows pgx.Rows) ([]parley.Notification, error) {
	defer rows.Close()
	var out []parley.Notification
	for rows.Next() {
		var n parley.Notification
		var next, created int64
		if err := rows.Scan(&n.ID, &n.UserID, &n.ConversationID, &n.Channel, &n.Seq, &n.Count, &n.Reason, &n.Rev,
			&n.Attempts, &next, &created, &n.LastError); err != nil {
			return nil, translate(err)
		}
		n.NextAt, n.CreatedAt = fromMillis(next), fromMillis(created)
		out = append(out, n)
	}
	return out, translate(rows.Err())
}

// ClaimNotifications implements parley.NotifyStore. SKIP LOCKED lets
// nodes claim side by side without waiting on each other's rows.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]parley.Notification, error) {
	rows, err := s.pool.Query(ctx, `UPDATE notifications SET attempts = attempts + 1, next_at = $1
		WHERE id IN (SELECT id FROM notifications WHERE next_at <= $2 ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+notificationCols, millis(now.Add(lease)), millis(now), limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := scanNotifications(rows)
	slices.SortFunc(out, func(a, b parley.Notification) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// FinishNotification implements parley.NotifyStore.
func (s *Store) FinishNotification(ctx context.Context, id string, rev int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM notifications WHERE id = $1 AND rev = $2`, id, rev)
	return translate(err)
}

// RetryNotification implements parley.NotifyStore.
func (s *Store) RetryNotification(ctx context.Context, id string, rev int64, next time.Time, lastErr string) error {
	_, err := s.pool.Exec(ctx, `UPDATE notifications SET next_at = $3, last_error = $4 WHERE id = $1 AND rev = $2`,
		id, rev, millis(next), lastErr)
	return translate(err)
}

// PendingNotifications implements parley.NotifyStore.
func (s *Store) PendingNotifications(ctx context.Context, userID string) ([]parley.Notification, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+notificationCols+` FROM notifications
		WHERE user_id = $1 ORDER BY conversation_id, channel`, userID)
	if err != nil {
		return nil, translate(err)
	}
	return scanNotifications(rows)
}
