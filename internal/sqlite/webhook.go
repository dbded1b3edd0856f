package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/parley-chat/parley"
)

const (
	outHookColumns  = `id, bot_id, url, secret, disabled, failures, created_at` // #nosec G101 -- column names, no credential
	deliveryColumns = `id, webhook_id, event_key, event, payload, status, attempts, next_attempt_at, last_status, last_error, created_at, updated_at`
)

func scanOutHook(row rowScanner) (parley.OutgoingWebhook, error) {
	var (
		w        parley.OutgoingWebhook
		disabled int
		created  int64
	)
	if err := row.Scan(&w.ID, &w.BotID, &w.URL, &w.Secret, &disabled, &w.Failures, &created); err != nil {
		return parley.OutgoingWebhook{}, err
	}
	w.Disabled, w.CreatedAt = disabled != 0, fromMillis(created)
	return w, nil
}

func scanDelivery(row rowScanner) (parley.WebhookDelivery, error) {
	var (
		d                      parley.WebhookDelivery
		next, created, updated int64
	)
	if err := row.Scan(&d.ID, &d.WebhookID, &d.EventKey, &d.Event, &d.Payload, &d.Status, &d.Attempts, &next,
		&d.LastStatus, &d.LastError, &created, &updated); err != nil {
		return parley.WebhookDelivery{}, err
	}
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromMillis(next), fromMillis(created), fromMillis(updated)
	return d, nil
}

func (s *Store) outHooks(ctx context.Context, q string, args ...any) ([]parley.OutgoingWebhook, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.OutgoingWebhook{}
	for rows.Next() {
		w, err := scanOutHook(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, w)
	}
	return out, translate(rows.Err())
}

// CreateOutgoingWebhook implements parley.OutgoingWebhookStore.
func (s *Store) CreateOutgoingWebhook(ctx context.Context, w parley.OutgoingWebhook) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outgoing_webhooks WHERE bot_id = ?`, w.BotID).Scan(&n); err != nil {
			return err
		}
		if n >= parley.OutgoingWebhooksPerBot {
			return parley.Errorf(parley.CodeConflict, "a bot has at most %d outgoing webhooks; delete one first", parley.OutgoingWebhooksPerBot)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO outgoing_webhooks (`+outHookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			w.ID, w.BotID, w.URL, w.Secret, boolInt(w.Disabled), w.Failures, millis(w.CreatedAt))
		return err
	})
}

// OutgoingWebhooks implements parley.OutgoingWebhookStore.
func (s *Store) OutgoingWebhooks(ctx context.Context, botID string) ([]parley.OutgoingWebhook, error) {
	return s.outHooks(ctx, `SELECT `+outHookColumns+` FROM outgoing_webhooks WHERE bot_id = ? ORDER BY created_at DESC, id DESC`, botID)
}

// ActiveOutgoingWebhooks implements parley.OutgoingWebhookStore.
func (s *Store) ActiveOutgoingWebhooks(ctx context.Context) ([]parley.OutgoingWebhook, error) {
	return s.outHooks(ctx, `SELECT `+outHookColumns+` FROM outgoing_webhooks WHERE disabled = 0 ORDER BY id`)
}

// EnableOutgoingWebhook implements parley.OutgoingWebhookStore.
func (s *Store) EnableOutgoingWebhook(ctx context.Context, botID, id string) (parley.OutgoingWebhook, error) {
	var w parley.OutgoingWebhook
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		w, err = scanOutHook(tx.QueryRowContext(ctx, `UPDATE outgoing_webhooks SET disabled = 0, failures = 0
			WHERE bot_id = ? AND id = ? RETURNING `+outHookColumns, botID, id))
		if err == sql.ErrNoRows {
			return parley.Errorf(parley.CodeNotFound, "webhook not found")
		}
		return err
	})
	return w, err
}

// DeleteOutgoingWebhook implements parley.OutgoingWebhookStore.
func (s *Store) DeleteOutgoingWebhook(ctx context.Context, botID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `DELETE FROM outgoing_webhooks WHERE bot_id = ? AND id = ?`, botID, id))
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Errorf(parley.CodeNotFound, "webhook not found")
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = ?`, id)
		return err
	})
}

// EnqueueDelivery implements parley.OutgoingWebhookStore.
func (s *Store) EnqueueDelivery(ctx context.Context, d parley.WebhookDelivery) (bool, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+deliveryColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (webhook_id, event_key) DO NOTHING`,
			d.ID, d.WebhookID, d.EventKey, d.Event, d.Payload, d.Status, d.Attempts, millis(d.NextAttemptAt),
			d.LastStatus, d.LastError, millis(d.CreatedAt), millis(d.UpdatedAt))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// ClaimDeliveries implements parley.OutgoingWebhookStore.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]parley.WebhookDelivery, error) {
	var out []parley.WebhookDelivery
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ?
			WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?
				ORDER BY next_attempt_at, id LIMIT ?)
			RETURNING `+deliveryColumns, millis(now.Add(lease)), millis(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// FinishAttempt implements parley.OutgoingWebhookStore.
func (s *Store) FinishAttempt(ctx context.Context, d parley.WebhookDelivery, disableAfter int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,
			last_status = ?, last_error = ?, updated_at = ? WHERE id = ?`, d.Status, d.Attempts, millis(d.NextAttemptAt),
			d.LastStatus, d.LastError, millis(d.UpdatedAt), d.ID); err != nil {
			return err
		}
		switch d.Status {
		case parley.DeliveryDelivered:
			_, err := tx.ExecContext(ctx, `UPDATE outgoing_webhooks SET failures = 0 WHERE id = ?`, d.WebhookID)
			return err
		case parley.DeliveryFailed:
			if _, err := tx.ExecContext(ctx, `UPDATE outgoing_webhooks SET failures = failures + 1,
				disabled = CASE WHEN failures + 1 >= ? THEN 1 ELSE disabled END WHERE id = ?`, disableAfter, d.WebhookID); err != nil {
				return err
			}
			// A disabled webhook's queue ends here.
			_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed', last_error = 'webhook disabled',
				updated_at = ? WHERE webhook_id = ? AND status = 'pending'
				AND (SELECT disabled FROM outgoing_webhooks WHERE id = ?) = 1`, millis(d.UpdatedAt), d.WebhookID, d.WebhookID)
			return err
		}
		return nil
	})
}

// Deliveries implements parley.OutgoingWebhookStore.
func (s *Store) Deliveries(ctx context.Context, webhookID string, limit int) ([]parley.WebhookDelivery, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE webhook_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, webhookID, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.WebhookDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, d)
	}
	return out, translate(rows.Err())
}
