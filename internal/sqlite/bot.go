package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

const apiTokenColumns = `id, user_id, name, token_hash, scopes, created_at, last_used_at` // #nosec G101 -- column names, no credential

func scanAPIToken(row rowScanner) (parley.APIToken, error) {
	var (
		t       parley.APIToken
		scopes  string
		created int64
		used    sql.NullInt64
	)
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &scopes, &created, &used); err != nil {
		return parley.APIToken{}, err
	}
	t.Scopes = splitScopes(scopes)
	t.CreatedAt = fromMillis(created)
	if used.Valid {
		u := fromMillis(used.Int64)
		t.LastUsedAt = &u
	}
	return t, nil
}

func splitScopes(s string) []parley.Scope {
	out := []parley.Scope{}
	for _, f := range strings.Fields(s) {
		out = append(out, parley.Scope(f))
	}
	return out
}

func joinScopes(ss []parley.Scope) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, " ")
}

// Bots implements parley.BotStore.
func (s *Store) Bots(ctx context.Context, ownerID string) ([]parley.User, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE bot_owner = ? AND username < '~'
		ORDER BY created_at, id`, ownerID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, u)
	}
	return out, translate(rows.Err())
}

// CreateAPIToken implements parley.BotStore.
func (s *Store) CreateAPIToken(ctx context.Context, t parley.APIToken) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, t.UserID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_tokens WHERE user_id = ?`, t.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= parley.APITokensPerBot {
			return parley.Errorf(parley.CodeConflict, "a bot has at most %d tokens; revoke one first", parley.APITokensPerBot)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (`+apiTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL)`,
			t.ID, t.UserID, t.Name, t.Hash, joinScopes(t.Scopes), millis(t.CreatedAt))
		return err
	})
}

// APITokens implements parley.BotStore.
func (s *Store) APITokens(ctx context.Context, botID string) ([]parley.APIToken, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE user_id = ?
		ORDER BY created_at DESC, id DESC`, botID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.APIToken{}
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, t)
	}
	return out, translate(rows.Err())
}

// APITokenUserByHash implements parley.BotStore.
func (s *Store) APITokenUserByHash(ctx context.Context, h []byte) (parley.APIToken, parley.User, error) {
	var u parley.User
	t, err := scanAPIToken(scanFunc(func(td ...any) error {
		var uerr error
		u, uerr = scanUser(scanFunc(func(ud ...any) error {
			return s.read.QueryRowContext(ctx, `SELECT `+qualify("t", apiTokenColumns)+`, `+qualify("u", userColumns)+`
				FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, h).Scan(append(td, ud...)...)
		}))
		return uerr
	}))
	if err != nil {
		return parley.APIToken{}, parley.User{}, notFound(err, "token not found")
	}
	return t, u, nil
}

// TouchAPIToken implements parley.BotStore.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, millis(at), id))
	})
}

// DeleteAPIToken implements parley.BotStore.
func (s *Store) DeleteAPIToken(ctx context.Context, botID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id = ? AND id = ?`, botID, id))
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Errorf(parley.CodeNotFound, "token not found")
		}
		return err
	})
}

const hookColumns = `id, bot_id, conversation_id, secret_hash, created_at, last_used_at` // #nosec G101 -- column names, no credential

func scanHook(row rowScanner) (parley.IncomingWebhook, error) {
	var (
		w       parley.IncomingWebhook
		created int64
		used    sql.NullInt64
	)
	if err := row.Scan(&w.ID, &w.BotID, &w.ConversationID, &w.Hash, &created, &used); err != nil {
		return parley.IncomingWebhook{}, err
	}
	w.CreatedAt = fromMillis(created)
	if used.Valid {
		u := fromMillis(used.Int64)
		w.LastUsedAt = &u
	}
	return w, nil
}

// CreateIncomingWebhook implements parley.IncomingWebhookStore.
func (s *Store) CreateIncomingWebhook(ctx context.Context, w parley.IncomingWebhook) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM incoming_webhooks WHERE bot_id = ?`, w.BotID).Scan(&n); err != nil {
			return err
		}
		if n >= parley.IncomingWebhooksPerBot {
			return parley.Errorf(parley.CodeConflict, "a bot has at most %d incoming webhooks; delete one first", parley.IncomingWebhooksPerBot)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO incoming_webhooks (`+hookColumns+`) VALUES (?, ?, ?, ?, ?, NULL)`,
			w.ID, w.BotID, w.ConversationID, w.Hash, millis(w.CreatedAt))
		return err
	})
}

// IncomingWebhooks implements parley.IncomingWebhookStore.
func (s *Store) IncomingWebhooks(ctx context.Context, botID string) ([]parley.IncomingWebhook, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+hookColumns+` FROM incoming_webhooks WHERE bot_id = ?
		ORDER BY created_at DESC, id DESC`, botID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.IncomingWebhook{}
	for rows.Next() {
		w, err := scanHook(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, w)
	}
	return out, translate(rows.Err())
}

// UseIncomingWebhook implements parley.IncomingWebhookStore.
func (s *Store) UseIncomingWebhook(ctx context.Context, id string, at time.Time) (parley.IncomingWebhook, error) {
	var w parley.IncomingWebhook
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		w, err = scanHook(tx.QueryRowContext(ctx, `UPDATE incoming_webhooks SET last_used_at = ? WHERE id = ?
			RETURNING `+hookColumns, millis(at), id))
		return notFound(err, "webhook not found")
	})
	return w, err
}

// DeleteIncomingWebhook implements parley.IncomingWebhookStore.
func (s *Store) DeleteIncomingWebhook(ctx context.Context, botID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := mustAffect(tx.ExecContext(ctx, `DELETE FROM incoming_webhooks WHERE bot_id = ? AND id = ?`, botID, id))
		if parley.IsCode(err, parley.CodeNotFound) {
			return parley.Errorf(parley.CodeNotFound, "webhook not found")
		}
		return err
	})
}
