package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-chat/parley"
)

// AddPushSubscription implements parley.PushStore.
func (s *Store) AddPushSubscription(ctx context.Context, p parley.PushSubscription, max int) (parley.PushSubscription, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id = ?`, p.UserID); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "user not found"))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET id = excluded.id, user_id = excluded.user_id,
			p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`,
			p.ID, p.UserID, p.Endpoint, p.P256DH, p.Auth, millis(p.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE user_id = ? AND id NOT IN
			(SELECT id FROM push_subscriptions WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?)`,
			p.UserID, p.UserID, max)
		return err
	})
	return p, err
}

// PushSubscriptions implements parley.PushStore.
func (s *Store) PushSubscriptions(ctx context.Context, userID string) ([]parley.PushSubscription, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, user_id, endpoint, p256dh, auth, created_at
		FROM push_subscriptions WHERE user_id = ? ORDER BY created_at, id`, userID)
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
	return s.tx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE id = ? AND user_id = ?`, id, userID))
	})
}

// DeletePushEndpoint implements parley.PushStore.
func (s *Store) DeletePushEndpoint(ctx context.Context, endpoint string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE endpoint = ?`, endpoint)
		return err
	})
}

// ServerSecret implements parley.PushStore.
func (s *Store) ServerSecret(ctx context.Context, name, value string) (string, error) {
	var v string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
			name, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = ?`, name).Scan(&v)
	})
	return v, err
}

// AddPushDevice implements parley.PushStore.
func (s *Store) AddPushDevice(ctx context.Context, d parley.PushDevice, max int) (parley.PushDevice, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id = ?`, d.UserID); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "user not found"))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO push_devices (id, user_id, platform, token, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, token) DO UPDATE SET id = excluded.id, user_id = excluded.user_id,
			created_at = excluded.created_at`, d.ID, d.UserID, string(d.Platform), d.Token, millis(d.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM push_devices WHERE user_id = ? AND id NOT IN
			(SELECT id FROM push_devices WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?)`, d.UserID, d.UserID, max)
		return err
	})
	return d, err
}

// PushDevices implements parley.PushStore.
func (s *Store) PushDevices(ctx context.Context, userID string) ([]parley.PushDevice, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, user_id, platform, token, created_at FROM push_devices
		WHERE user_id = ? ORDER BY created_at, id`, userID)
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
	return s.tx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `DELETE FROM push_devices WHERE id = ? AND user_id = ?`, id, userID))
	})
}

// DeletePushToken implements parley.PushStore.
func (s *Store) DeletePushToken(ctx context.Context, platform parley.PushPlatform, token string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM push_devices WHERE platform = ? AND token = ?`, string(platform), token)
		return err
	})
}
