package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-chat/parley"
)

const e2eeDeviceCols = `id, user_id, name, identity_sign, identity_dh, identity_dh_sig, spk_id, spk, spk_sig, created_at`

func scanE2EEDevice(r interface{ Scan(...any) error }) (parley.E2EEDevice, error) {
	var d parley.E2EEDevice
	var at int64
	err := r.Scan(&d.ID, &d.UserID, &d.Name, &d.IdentitySign, &d.IdentityDH, &d.IdentityDHSig,
		&d.SignedPrekey.ID, &d.SignedPrekey.Key, &d.SignedPrekey.Sig, &at)
	d.CreatedAt = fromMillis(at)
	return d, err
}

func errDeviceNotFound() error {
	return &parley.Error{Code: parley.CodeNotFound, Field: "device_id", Message: "device not found"}
}

// CreateE2EEDevice implements parley.E2EEStore.
func (s *Store) CreateE2EEDevice(ctx context.Context, d parley.E2EEDevice, opks []parley.OneTimePrekey, max int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, `SELECT count(*) FROM users WHERE id = ?`, d.UserID); err != nil || n == 0 {
			return errors.Join(err, parley.Errorf(parley.CodeNotFound, "user not found"))
		}
		if n, err := count(ctx, tx, `SELECT count(*) FROM e2ee_devices WHERE user_id = ?`, d.UserID); err != nil {
			return err
		} else if n >= max {
			return parley.TooLarge("device_id", "at most %d devices per user; delete one first", max)
		}
		if n, err := count(ctx, tx, `SELECT count(*) FROM e2ee_devices WHERE identity_sign = ?`, d.IdentitySign); err != nil {
			return err
		} else if n > 0 {
			return &parley.Error{Code: parley.CodeConflict, Field: "identity_sign", Message: "this identity key is registered already"}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO e2ee_devices (`+e2eeDeviceCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			d.ID, d.UserID, d.Name, d.IdentitySign, d.IdentityDH, d.IdentityDHSig,
			d.SignedPrekey.ID, d.SignedPrekey.Key, d.SignedPrekey.Sig, millis(d.CreatedAt)); err != nil {
			return err
		}
		return insertPrekeys(ctx, tx, d.ID, opks)
	})
}

func insertPrekeys(ctx context.Context, tx *sql.Tx, deviceID string, ks []parley.OneTimePrekey) error {
	for _, k := range ks {
		if _, err := tx.ExecContext(ctx, `INSERT INTO e2ee_prekeys (device_id, id, key) VALUES (?, ?, ?)
			ON CONFLICT (device_id, id) DO UPDATE SET key = excluded.key`, deviceID, k.ID, k.Key); err != nil {
			return err
		}
	}
	return nil
}

// E2EEDevice implements parley.E2EEStore.
func (s *Store) E2EEDevice(ctx context.Context, id string) (parley.E2EEDevice, error) {
	d, err := scanE2EEDevice(s.read.QueryRowContext(ctx, `SELECT `+e2eeDeviceCols+` FROM e2ee_devices WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, errDeviceNotFound()
	}
	return d, translate(err)
}

// E2EEDevices implements parley.E2EEStore.
func (s *Store) E2EEDevices(ctx context.Context, userID string) ([]parley.E2EEDevice, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+e2eeDeviceCols+` FROM e2ee_devices WHERE user_id = ?
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

// DeleteE2EEDevice implements parley.E2EEStore.
func (s *Store) DeleteE2EEDevice(ctx context.Context, userID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM e2ee_prekeys WHERE device_id = (SELECT id FROM e2ee_devices
			WHERE id = ? AND user_id = ?)`, id, userID); err != nil {
			return err
		}
		return notFoundAs(mustAffect(tx.ExecContext(ctx, `DELETE FROM e2ee_devices WHERE id = ? AND user_id = ?`, id, userID)))
	})
}

// notFoundAs turns mustAffect's generic not_found into the device's.
func notFoundAs(err error) error {
	if parley.IsCode(err, parley.CodeNotFound) {
		return errDeviceNotFound()
	}
	return err
}

// SetSignedPrekey implements parley.E2EEStore.
func (s *Store) SetSignedPrekey(ctx context.Context, userID, deviceID string, p parley.SignedPrekey) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return notFoundAs(mustAffect(tx.ExecContext(ctx, `UPDATE e2ee_devices SET spk_id = ?, spk = ?, spk_sig = ?
			WHERE id = ? AND user_id = ?`, p.ID, p.Key, p.Sig, deviceID, userID)))
	})
}

// AddOneTimePrekeys implements parley.E2EEStore.
func (s *Store) AddOneTimePrekeys(ctx context.Context, userID, deviceID string, ks []parley.OneTimePrekey, max int) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if c, err := count(ctx, tx, `SELECT count(*) FROM e2ee_devices WHERE id = ? AND user_id = ?`, deviceID, userID); err != nil {
			return err
		} else if c == 0 {
			return errDeviceNotFound()
		}
		if err := insertPrekeys(ctx, tx, deviceID, ks); err != nil {
			return err
		}
		var err error
		if n, err = count(ctx, tx, `SELECT count(*) FROM e2ee_prekeys WHERE device_id = ?`, deviceID); err != nil {
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
	err := s.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM e2ee_devices WHERE id = ? AND user_id = ?),
		(SELECT count(*) FROM e2ee_prekeys WHERE device_id = ?)`, deviceID, userID, deviceID).Scan(&owned, &n)
	if err != nil {
		return 0, translate(err)
	}
	if owned == 0 {
		return 0, errDeviceNotFound()
	}
	return n, nil
}

// ClaimE2EEBundles implements parley.E2EEStore. SQLite has one writer, so
// the read and delete of each prekey in this transaction cannot interleave
// with another claim.
func (s *Store) ClaimE2EEBundles(ctx context.Context, userID string) ([]parley.E2EEBundle, error) {
	var out []parley.E2EEBundle
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = []parley.E2EEBundle{}
		rows, err := tx.QueryContext(ctx, `SELECT `+e2eeDeviceCols+` FROM e2ee_devices WHERE user_id = ?
			ORDER BY created_at, id`, userID)
		if err != nil {
			return err
		}
		var devs []parley.E2EEDevice
		for rows.Next() {
			d, err := scanE2EEDevice(rows)
			if err != nil {
				rows.Close()
				return err
			}
			devs = append(devs, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range devs {
			b := parley.E2EEBundle{DeviceID: d.ID, IdentitySign: d.IdentitySign, IdentityDH: d.IdentityDH,
				IdentityDHSig: d.IdentityDHSig, SignedPrekey: d.SignedPrekey}
			var k parley.OneTimePrekey
			err := tx.QueryRowContext(ctx, `DELETE FROM e2ee_prekeys WHERE device_id = ? AND id =
				(SELECT min(id) FROM e2ee_prekeys WHERE device_id = ?) RETURNING id, key`, d.ID, d.ID).Scan(&k.ID, &k.Key)
			if err == nil {
				b.OneTimePrekey = &k
			} else if !errors.Is(err, sql.ErrNoRows) {
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
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM members x JOIN members y
		ON y.conversation_id = x.conversation_id AND y.user_id = ? WHERE x.user_id = ? LIMIT 1)`, b, a).Scan(&n)
	return n > 0, translate(err)
}

// PutE2EEBackup implements parley.E2EEStore.
func (s *Store) PutE2EEBackup(ctx context.Context, userID string, b parley.E2EEBackup) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO e2ee_backups (user_id, blob, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET blob = excluded.blob, updated_at = excluded.updated_at`,
			userID, []byte(b.Blob), millis(b.UpdatedAt))
		return err
	})
}

// E2EEBackup implements parley.E2EEStore.
func (s *Store) E2EEBackup(ctx context.Context, userID string) (parley.E2EEBackup, error) {
	var b parley.E2EEBackup
	var blob []byte
	var at int64
	err := s.read.QueryRowContext(ctx, `SELECT blob, updated_at FROM e2ee_backups WHERE user_id = ?`, userID).Scan(&blob, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return b, &parley.Error{Code: parley.CodeNotFound, Message: "no key backup"}
	}
	b.Blob, b.UpdatedAt = blob, fromMillis(at)
	return b, translate(err)
}

// DeleteE2EEBackup implements parley.E2EEStore.
func (s *Store) DeleteE2EEBackup(ctx context.Context, userID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `DELETE FROM e2ee_backups WHERE user_id = ?`, userID))
		if parley.IsCode(err, parley.CodeNotFound) {
			return &parley.Error{Code: parley.CodeNotFound, Message: "no key backup"}
		}
		return err
	})
}
