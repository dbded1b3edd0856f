package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// AddPushSubscription implements parley.PushStore; the same SQL as
// internal/sqlite/push.go.
func (s *Store) AddPushSubscription(ctx context.Context, p parley.PushSubscription, max int) (parley.PushSubscription, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Serialise one user's additions so the cap holds under concurrency.
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT id FROM users WHERE id = $1 FOR UPDATE) u`, p.UserID).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return parley.Errorf(parley.CodeNotFound, "user not found")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (endpoint) DO UPDATE SET id = excluded.id, user_id = excluded.user_id,
			p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`,
			p.ID, p.UserID, p.Endpoint, p.P256DH, p.Auth, millis(p.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN
			(SELECT id FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)`,
			p.UserID, max)
		return err
	})
	return p, err
}

// PushSubscriptions implements parley.PushStore.
func (s *Store) PushSubscriptions(ctx context.Context, userID string) ([]parley.PushSubscription, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, endpoint, p256dh, auth, created_at
		FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []parley.PushSubscription
	for rows.Next() {
		var p parley.PushSubscription
		var at int64
		if err := rows.Scan(&p.ID, &p.UserID, &p.Endpoint, &p.P256DH, &p.Auth, &at); err != nil {
			return nil, translate(err)
		}
		p.CreatedAt = fromMillis(at)
		out = append(out, p)
	}
	return out, translate(rows.Err())
}

// DeletePushSubscription implements parley.PushStore.
func (s *Store) DeletePushSubscription(ctx context.Context, userID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "not found")
	}
	return nil
}

// DeletePushEndpoint implements parley.PushStore.
func (s *Store) DeletePushEndpoint(ctx context.Context, endpoint string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM push_subscriptions WHERE endpoint = $1`, endpoint)
	return translate(err)
}

// ServerSecret implements parley.PushStore.
func (s *Store) ServerSecret(ctx context.Context, name, value string) (string, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, value); err != nil {
		return "", translate(err)
	}
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&v)
	return v, translate(err)
}

// AddPushDevice implements parley.PushStore.
func (s *Store) AddPushDevice(ctx context.Context, d parley.PushDevice, max int) (parley.PushDevice, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT id FROM users WHERE id = $1 FOR UPDATE) u`, d.UserID).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return parley.Errorf(parley.CodeNotFound, "user not found")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO push_devices (id, user_id, platform, token, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform, token) DO UPDATE SET id = excluded.id, user_id = excluded.user_id,
			created_at = excluded.created_at`, d.ID, d.UserID, string(d.Platform), d.Token, millis(d.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM push_devices WHERE user_id = $1 AND id NOT IN
			(SELECT id FROM push_devices WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)`, d.UserID, max)
		return err
	})
	return d, err
}

// PushDevices implements parley.PushStore.
func (s *Store) PushDevices(ctx context.Context, userID string) ([]parley.PushDevice, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, platform, token, created_at FROM push_devices
		WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []parley.PushDevice
	for rows.Next() {
		var d parley.PushDevice
		var at int64
		if err := rows.Scan(&d.ID, &d.UserID, &d.Platform, &d.Token, &at); err != nil {
			return nil, translate(err)
		}
		d.CreatedAt = fromMillis(at)
		out = append(out, d)
	}
	return out, translate(rows.Err())
}

// DeletePushDevice implements parley.PushStore.
func (s *Store) DeletePushDevice(ctx context.Context, userID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM push_devices WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "not found")
	}
	return nil
}

// DeletePushToken implements parley.PushStore.
func (s *Store) DeletePushToken(ctx context.Context, platform parley.PushPlatform, token string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM push_devices WHERE platform = $1 AND token = $2`, string(platform), token)
	return translate(err)
}
