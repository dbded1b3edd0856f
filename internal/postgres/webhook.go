package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const (
	outHookCols  = `id, bot_id, url, secret, disabled, failures, created_at` // #nosec G101 -- column names, no credential
	deliveryCols = `id, webhook_id, event_key, event, payload, status, attempts, next_attempt_at, last_status, last_error, created_at, updated_at`
)

func scanOutHook(row pgx.Row) (parley.OutgoingWebhook, error) {
	var (
		w       parley.OutgoingWebhook
		created int64
	)
	if err := row.Scan(&w.ID, &w.BotID, &w.URL, &w.Secret, &w.Disabled, &w.Failures, &created); err != nil {
		return parley.OutgoingWebhook{}, err
	}
	w.CreatedAt = fromMillis(created)
	return w, nil
}

func scanDelivery(row pgx.Row) (parley.WebhookDelivery, error) {
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

func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, v)
	}
	return out, translate(rows.Err())
}

// CreateOutgoingWebhook implements parley.OutgoingWebhookStore.
func (s *Store) CreateOutgoingWebhook(ctx context.Context, w parley.OutgoingWebhook) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, w.BotID).Scan(&one); err != nil {
			return notFound(err, "bot not found")
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM outgoing_webhooks WHERE bot_id = $1`, w.BotID).Scan(&n); err != nil {
			return err
		}
		if n >= parley.OutgoingWebhooksPerBot {
			return parley.Errorf(parley.CodeConflict, "a bot has at most %d outgoing webhooks; delete one first", parley.OutgoingWebhooksPerBot)
		}
		_, err := tx.Exec(ctx, `INSERT INTO outgoing_webhooks (`+outHookCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			w.ID, w.BotID, w.URL, w.Secret, w.Disabled, w.Failures, millis(w.CreatedAt))
		return err
	})
}

// OutgoingWebhooks implements parley.OutgoingWebhookStore.
func (s *Store) OutgoingWebhooks(ctx context.Context, botID string) ([]parley.OutgoingWebhook, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+outHookCols+` FROM outgoing_webhooks WHERE bot_id = $1 ORDER BY created_at DESC, id DESC`, botID)
	if err != nil {
		return nil, translate(err)
	}
	return collect(rows, scanOutHook)
}

// ActiveOutgoingWebhooks implements parley.OutgoingWebhookStore.
func (s *Store) ActiveOutgoingWebhooks(ctx context.Context) ([]parley.OutgoingWebhook, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+outHookCols+` FROM outgoing_webhooks WHERE NOT disabled ORDER BY id`)
	if err != nil {
		return nil, translate(err)
	}
	return collect(rows, scanOutHook)
}

// EnableOutgoingWebhook implements parley.OutgoingWebhookStore.
func (s *Store) EnableOutgoingWebhook(ctx context.Context, botID, id string) (parley.OutgoingWebhook, error) {
	w, err := scanOutHook(s.pool.QueryRow(ctx, `UPDATE outgoing_webhooks SET disabled = false, failures = 0
		WHERE bot_id = $1 AND id = $2 RETURNING `+outHookCols, botID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return parley.OutgoingWebhook{}, parley.Errorf(parley.CodeNotFound, "webhook not found")
	}
	return w, translate(err)
}

// DeleteOutgoingWebhook implements parley.OutgoingWebhookStore.
func (s *Store) DeleteOutgoingWebhook(ctx context.Context, botID, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM outgoing_webhooks WHERE bot_id = $1 AND id = $2`, botID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return parley.Errorf(parley.CodeNotFound, "webhook not found")
		}
		_, err = tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = $1`, id)
		return err
	})
}

// EnqueueDelivery implements parley.OutgoingWebhookStore.
func (s *Store) EnqueueDelivery(ctx context.Context, d parley.WebhookDelivery) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO webhook_deliveries (`+deliveryCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (webhook_id, event_key) DO NOTHING`,
		d.ID, d.WebhookID, d.EventKey, d.Event, d.Payload, d.Status, d.Attempts, millis(d.NextAttemptAt),
		d.LastStatus, d.LastError, millis(d.CreatedAt), millis(d.UpdatedAt))
	if err != nil {
		return false, translate(err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClaimDeliveries implements parley.OutgoingWebhookStore. SKIP LOCKED lets
// the workers of many nodes claim disjoint batches.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]parley.WebhookDelivery, error) {
	rows, err := s.pool.Query(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $1
		WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $2
			ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+deliveryCols, millis(now.Add(lease)), millis(now), limit)
	if err != nil {
		return nil, translate(err)
	}
	return collect(rows, scanDelivery)
}

// FinishAttempt implements parley.OutgoingWebhookStore.
func (s *Store) FinishAttempt(ctx context.Context, d parley.WebhookDelivery, disableAfter int) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4,
			last_status = $5, last_error = $6, updated_at = $7 WHERE id = $1`, d.ID, d.Status, d.Attempts,
			millis(d.NextAttemptAt), d.LastStatus, d.LastError, millis(d.UpdatedAt)); err != nil {
			return err
		}
		switch d.Status {
		case parley.DeliveryDelivered:
			_, err := tx.Exec(ctx, `UPDATE outgoing_webhooks SET failures = 0 WHERE id = $1`, d.WebhookID)
			return err
		case parley.DeliveryFailed:
			if _, err := tx.Exec(ctx, `UPDATE outgoing_webhooks SET failures = failures + 1,
				disabled = disabled OR failures + 1 >= $2 WHERE id = $1`, d.WebhookID, disableAfter); err != nil {
				return err
			}
			// A disabled webhook's queue ends here.
			_, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'failed', last_error = 'webhook disabled',
				updated_at = $2 WHERE webhook_id = $1 AND status = 'pending'
				AND (SELECT disabled FROM outgoing_webhooks WHERE id = $1)`, d.WebhookID, millis(d.UpdatedAt))
			return err
		}
		return nil
	})
}

// Deliveries implements parley.OutgoingWebhookStore.
func (s *Store) Deliveries(ctx context.Context, webhookID string, limit int) ([]parley.WebhookDelivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE webhook_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2`, webhookID, limit)
	if err != nil {
		return nil, translate(err)
	}
	return collect(rows, scanDelivery)
}
