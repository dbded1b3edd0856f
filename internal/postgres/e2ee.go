package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// The same SQL as internal/sqlite/e2ee.go, except where noted.

const e2eeDeviceCols = `id, user_id, name, identity_sign, identity_dh, identity_dh_sig, spk_id, spk, spk_sig, created_at`

func scanE2EEDevice(r pgx.Row) (parley.E2EEDevice, error) {
	var d parley.E2EEDevice
	var at, spkID int64
	err := r.Scan(&d.ID, &d.UserID, &d.Name, &d.IdentitySign, &d.IdentityDH, &d.IdentityDHSig,
		&spkID, &d.SignedPrekey.Key, &d.SignedPrekey.Sig, &at)
	d.SignedPrekey.ID = uint32(spkID) // #nosec G115 -- the column is only ever written from a uint32
	d.CreatedAt = fromMillis(at)
	return d, err
}

func errDeviceNotFound() error {
	return &parley.Error{Code: parley.CodeNotFound, Field: "device_id", Message: "device not found"}
}

// CreateE2EEDevice implements parley.E2EEStore. The user's row is locked so
// the device cap holds under concurrent registrations.
func (s *Store) CreateE2EEDevice(ctx context.Context, d parley.E2EEDevice, opks []parley.OneTimePrekey, max int) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM (SELECT id FROM users WHERE id = $1 FOR UPDATE) u`, d.UserID); err != nil {
			return err
		} else if n == 0 {
			return parley.Errorf(parley.CodeNotFound, "user not found")
		}
		if n, err := count(ctx, tx, `SELECT count(*) FROM e2ee_devices WHERE user_id = $1`, d.UserID); err != nil {
			return err
		} else if n >= max {
			return parley.TooLarge("device_id", "at most %d devices per user; delete one first", max)
		}
		if n, err := count(ctx, tx, `SELECT count(*) FROM e2ee_devices WHERE identity_sign = $1`, d.IdentitySign); err != nil {
			return err
		} else if n > 0 {
			return &parley.Error{Code: parley.CodeConflict, Field: "identity_sign", Message: "this identity key is registered already"}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO e2ee_devices (`+e2eeDeviceCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
			d.ID, d.UserID, d.Name, d.IdentitySign, d.IdentityDH, d.IdentityDHSig,
			int64(d.SignedPrekey.ID), d.SignedPrekey.Key, d.SignedPrekey.Sig, millis(d.CreatedAt)); err != nil {
			return err
		}
		return insertPrekeys(ctx, tx, d.ID, opks)
	})
}

func insertPrekeys(ctx context.Context, tx pgx.Tx, deviceID string, ks []parley.OneTimePrekey) error {
	for _, k := range ks {
		if _, err := tx.Exec(ctx, `INSERT INTO e2ee_prekeys (device_id, id, key) VALUES ($1, $2, $3)
			ON CONFLICT (device_id, id) DO UPDATE SET key = excluded.key`, deviceID, int64(k.ID), k.Key); err != nil {
			return err
		}
	}
	return nil
}

// E2EEDevice implements parley.E2EEStore.
func (s *Store) E2EEDevice(ctx context.Context, id string) (parley.E2EEDevice, error) {
	d, err := scanE2EEDevice(s.pool.QueryRow(ctx, `SELECT `+e2eeDeviceCols+` FROM e2ee_devices WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, errDeviceNotFound()
	}
	return d, translate(err)
}

// E2EEDevices implements parley.E2EEStore.
func (s *Store) E2EEDevices(ctx context.Context, userID string) ([]parley.E2EEDevice, error) {
	return s.devices(ctx, s.pool, userID)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Store) devices(ctx context.Context, q querier, userID string) ([]parley.E2EEDevice, error) {
	rows, err := q.Query(ctx, `SELECT `+e2eeDeviceCols+` FROM e2ee_devices WHERE user_id = $1
		ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.E2EEDevice{}
	for rows.Next() {
		d, err := scanE2EEDevice(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, d)
	}
	return out, translate(rows.Err())
}

// DeleteE2EEDevice implements parley.E2EEStore (prekeys go by ON DELETE CASCADE).
func (s *Store) DeleteE2EEDevice(ctx context.Context, userID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM e2ee_devices WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return errDeviceNotFound()
	}
	return nil
}

// SetSignedPrekey implements parley.E2EEStore.
func (s *Store) SetSignedPrekey(ctx context.Context, userID, deviceID string, p parley.SignedPrekey) error {
	tag, err := s.pool.Exec(ctx, `UPDATE e2ee_devices SET spk_id = $1, spk = $2, spk_sig = $3
		WHERE id = $4 AND user_id = $5`, int64(p.ID), p.Key, p.Sig, deviceID, userID)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return errDeviceNotFound()
	}
	return nil
}

// AddOneTimePrekeys implements parley.E2EEStore. The device row is locked
// so the cap holds under concurrent uploads.
func (s *Store) AddOneTimePrekeys(ctx context.Context, userID, deviceID string, ks []parley.OneTimePrekey, max int) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if c, err := count(ctx, tx, `SELECT count(*) FROM (SELECT id FROM e2ee_devices WHERE id = $1 AND user_id = $2
			FOR UPDATE) d`, deviceID, userID); err != nil {
			return err
		} else if c == 0 {
			return errDeviceNotFound()
		}
		if err := insertPrekeys(ctx, tx, deviceID, ks); err != nil {
			return err
		}
		var err error
		if n, err = count(ctx, tx, `SELECT count(*) FROM e2ee_prekeys WHERE device_id = $1`, deviceID); err != nil {
			return err
		}
		if n > max {
			return parley.TooLarge("one_time_prekeys", "a device holds at most %d one-time prekeys", max)
		}
		return nil
	})
	return n, err
}

// OneTimePrekeyCount implements parley.E2EEStore.
func (s *Store) OneTimePrekeyCount(ctx context.Context, userID, deviceID string) (int, error) {
	var owned, n int
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM e2ee_devices WHERE id = $1 AND user_id = $2),
		(SELECT count(*) FROM e2ee_prekeys WHERE device_id = $1)`, deviceID, userID).Scan(&owned, &n)
	if err != nil {
		return 0, translate(err)
	}
	if owned == 0 {
		return 0, errDeviceNotFound()
	}
	return n, nil
}

// ClaimE2EEBundles implements parley.E2EEStore. Each prekey is taken with
// FOR UPDATE SKIP LOCKED and deleted in the same statement: two concurrent
// claims never return the same key (a claim that finds every remaining key
// locked by others returns the bundle without one).
func (s *Store) ClaimE2EEBundles(ctx context.Context, userID string) ([]parley.E2EEBundle, error) {
	var out []parley.E2EEBundle
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		devs, err := s.devices(ctx, tx, userID)
		if err != nil {
			return err
		}
		out = []parley.E2EEBundle{}
		for _, d := range devs {
			b := parley.E2EEBundle{DeviceID: d.ID, IdentitySign: d.IdentitySign, IdentityDH: d.IdentityDH,
				IdentityDHSig: d.IdentityDHSig, SignedPrekey: d.SignedPrekey}
			var id int64
			var key []byte
			err := tx.QueryRow(ctx, `DELETE FROM e2ee_prekeys WHERE device_id = $1 AND id =
				(SELECT id FROM e2ee_prekeys WHERE device_id = $1 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
				RETURNING id, key`, d.ID).Scan(&id, &key)
			if err == nil {
				b.OneTimePrekey = &parley.OneTimePrekey{ID: uint32(id), Key: key} // #nosec G115 -- the column is only ever written from a uint32
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	return out, err
}

// SharesConversation implements parley.E2EEStore.
func (s *Store) SharesConversation(ctx context.Context, a, b string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM members x JOIN members y
		ON y.conversation_id = x.conversation_id AND y.user_id = $2 WHERE x.user_id = $1)`, a, b).Scan(&ok)
	return ok, translate(err)
}

// PutE2EEBackup implements parley.E2EEStore.
func (s *Store) PutE2EEBackup(ctx context.Context, userID string, b parley.E2EEBackup) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO e2ee_backups (user_id, blob, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET blob = excluded.blob, updated_at = excluded.updated_at`,
		userID, []byte(b.Blob), millis(b.UpdatedAt))
	return translate(err)
}

// E2EEBackup implements parley.E2EEStore.
func (s *Store) E2EEBackup(ctx context.Context, userID string) (parley.E2EEBackup, error) {
	var b parley.E2EEBackup
	var blob []byte
	var at int64
	err := s.pool.QueryRow(ctx, `SELECT blob, updated_at FROM e2ee_backups WHERE user_id = $1`, userID).Scan(&blob, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, &parley.Error{Code: parley.CodeNotFound, Message: "no key backup"}
	}
	b.Blob, b.UpdatedAt = blob, fromMillis(at)
	return b, translate(err)
}

// DeleteE2EEBackup implements parley.E2EEStore.
func (s *Store) DeleteE2EEBackup(ctx context.Context, userID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM e2ee_backups WHERE user_id = $1`, userID)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return &parley.Error{Code: parley.CodeNotFound, Message: "no key backup"}
	}
	return nil
}
