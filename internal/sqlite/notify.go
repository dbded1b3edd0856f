package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// NotifyPrefs implements parley.NotifyStore.
func (s *Store) NotifyPrefs(ctx context.Context, userID string) (parley.NotifyPrefs, error) {
	var p parley.NotifyPrefs
	var qs, qe string
	var previews int
	err := s.read.QueryRowContext(ctx, `SELECT level, quiet_start, quiet_end, time_zone, previews
		FROM notify_prefs WHERE user_id = ?`, userID).Scan(&p.Level, &qs, &qe, &p.TimeZone, &previews)
	if errors.Is(err, sql.ErrNoRows) {
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, userID).Scan(&n); err != nil {
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
	p.Previews = previews != 0
	return p.Normalize(), nil
}

// SetNotifyPrefs implements parley.NotifyStore.
func (s *Store) SetNotifyPrefs(ctx context.Context, userID string, p parley.NotifyPrefs) error {
	var qs, qe string
	if p.QuietHours != nil {
		qs, qe = p.QuietHours.Start, p.QuietHours.End
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id = ?`, userID); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "user not found"))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO notify_prefs (user_id, level, quiet_start, quiet_end, time_zone, previews)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET level = excluded.level,
			quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, time_zone = excluded.time_zone,
			previews = excluded.previews`, userID, string(p.Level), qs, qe, p.TimeZone, boolInt(p.Previews))
		return err
	})
}

// ConversationNotify implements parley.NotifyStore.
func (s *Store) ConversationNotify(ctx context.Context, conversationID, userID string) (parley.ConversationNotify, error) {
	var c parley.ConversationNotify
	var until sql.NullInt64
	var mo sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT n.muted_until, n.mentions_only FROM members m
		LEFT JOIN conversation_notify n ON n.conversation_id = m.conversation_id AND n.user_id = m.user_id
		WHERE m.conversation_id = ? AND m.user_id = ?`, conversationID, userID).Scan(&until, &mo)
	if err != nil {
		return c, notFound(err, "not a member")
	}
	if until.Valid {
		t := fromMillis(until.Int64)
		c.MutedUntil = &t
	}
	c.MentionsOnly = mo.Int64 != 0
	return c, nil
}

// SetConversationNotify implements parley.NotifyStore.
func (s *Store) SetConversationNotify(ctx context.Context, conversationID, userID string, c parley.ConversationNotify) error {
	var until any
	if c.MutedUntil != nil {
		until = millis(*c.MutedUntil)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM members WHERE conversation_id = ? AND user_id = ?`,
			conversationID, userID); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "not a member"))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO conversation_notify (conversation_id, user_id, muted_until, mentions_only)
			VALUES (?, ?, ?, ?) ON CONFLICT (conversation_id, user_id) DO UPDATE SET
			muted_until = excluded.muted_until, mentions_only = excluded.mentions_only`,
			conversationID, userID, until, boolInt(c.MentionsOnly))
		return err
	})
}

// NotifyTargets implements parley.NotifyStore.
func (s *Store) NotifyTargets(ctx context.Context, conversationID string) ([]parley.NotifyTarget, error) {
	rows, err := s.rd.notifyTargets.QueryContext(ctx, conversationID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []parley.NotifyTarget
	for rows.Next() {
		var t parley.NotifyTarget
		var muted, previews, mo, push, email int
		var qs, qe string
		var until sql.NullInt64
		if err := rows.Scan(&t.UserID, &t.Role, &muted, &t.ReadSeq, &t.Prefs.Level, &qs, &qe, &t.Prefs.TimeZone,
			&previews, &until, &mo, &push, &email); err != nil {
			return nil, translate(err)
		}
		t.Muted, t.Prefs.Previews, t.Conv.MentionsOnly = muted != 0, previews != 0, mo != 0
		t.Push, t.Email = push != 0, email != 0
		if qs != "" {
			t.Prefs.QuietHours = &parley.QuietHours{Start: qs, End: qe}
		}
		if until.Valid {
			u := fromMillis(until.Int64)
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
	err := s.rd.notifyCursor.QueryRowContext(ctx, conversationID).
		Scan(&c.NotifiedSeq, &c.LastSeq)
	return c, notFound(err, "conversation not found")
}

// NotifyBacklog implements parley.NotifyStore.
func (s *Store) NotifyBacklog(ctx context.Context, limit int) ([]parley.NotifyCursor, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT c.id, coalesce(n.notified_seq, 0), h.last_seq FROM conversations c
		JOIN conversation_heads h ON h.num = c.num
		LEFT JOIN notify_cursors n ON n.conversation_id = c.id
		WHERE h.last_seq > coalesce(n.notified_seq, 0) ORDER BY h.last_at, c.id LIMIT ?`, limit)
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

// AdvanceNotify implements parley.NotifyStore.
func (s *Store) AdvanceNotify(ctx context.Context, conversationID string, from, to int64, ns []parley.Notification) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var cur sql.NullInt64
		var exists int
		err := tx.QueryRowContext(ctx, `SELECT count(*), (SELECT notified_seq FROM notify_cursors WHERE conversation_id = ?)
			FROM conversations WHERE id = ?`, conversationID, conversationID).Scan(&exists, &cur)
		if err != nil {
			return err
		}
		if exists == 0 {
			return parley.Errorf(parley.CodeNotFound, "conversation not found")
		}
		if cur.Int64 != from {
			return parley.Errorf(parley.CodeConflict, "notification cursor moved")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO notify_cursors (conversation_id, notified_seq) VALUES (?, ?)
			ON CONFLICT (conversation_id) DO UPDATE SET notified_seq = excluded.notified_seq`, conversationID, to); err != nil {
			return err
		}
		for _, n := range ns {
			if _, err := tx.ExecContext(ctx, sqlEnqueueNotification, parley.NewID(), n.UserID, conversationID,
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
	VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?, '')
	ON CONFLICT (user_id, conversation_id, channel) DO UPDATE SET
	seq = max(notifications.seq, excluded.seq), count = notifications.count + excluded.count,
	reason = CASE WHEN excluded.reason = 'direct' OR notifications.reason = 'message' THEN excluded.reason
		ELSE notifications.reason END,
	rev = notifications.rev + 1, attempts = 0, last_error = '', next_at = excluded.next_at`

const notificationCols = `id, user_id, conversation_id, channel, seq, count, reason, rev, attempts, next_at, created_at, last_error`

func scanNotifications(rows *sql.Rows) ([]parley.Notification, error) {
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

// ClaimNotifications implements parley.NotifyStore.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]parley.Notification, error) {
	var out []parley.Notification
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE notifications SET attempts = attempts + 1, next_at = ?
			WHERE id IN (SELECT id FROM notifications WHERE next_at <= ? ORDER BY next_at, id LIMIT ?)
			RETURNING `+notificationCols, millis(now.Add(lease)), millis(now), limit)
		if err != nil {
			return err
		}
		out, err = scanNotifications(rows)
		return err
	})
	sortNotifications(out)
	return out, err
}

// sortNotifications orders a claim by creation (RETURNING keeps no order).
func sortNotifications(ns []parley.Notification) {
	slices.SortFunc(ns, func(a, b parley.Notification) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// FinishNotification implements parley.NotifyStore.
func (s *Store) FinishNotification(ctx context.Context, id string, rev int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM notifications WHERE id = ? AND rev = ?`, id, rev)
		return err
	})
}

// RetryNotification implements parley.NotifyStore.
func (s *Store) RetryNotification(ctx context.Context, id string, rev int64, next time.Time, lastErr string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE notifications SET next_at = ?, last_error = ? WHERE id = ? AND rev = ?`,
			millis(next), lastErr, id, rev)
		return err
	})
}

// PendingNotifications implements parley.NotifyStore.
func (s *Store) PendingNotifications(ctx context.Context, userID string) ([]parley.Notification, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+notificationCols+` FROM notifications
		WHERE user_id = ? ORDER BY conversation_id, channel`, userID)
	if err != nil {
		return nil, translate(err)
	}
	return scanNotifications(rows)
}
