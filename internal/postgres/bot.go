package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

const apiTokenCols = `id, user_id, name, token_hash, scopes, created_at, last_used_at` // #nosec G101 -- column names, no credential

func scanAPIToken(row pgx.Row) (parley.APIToken, error) {
	var (
		t       parley.APIToken
		scopes  string
		created int64
		used    *int64
	)
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &scopes, &created, &used); err != nil {
		return parley.APIToken{}, err
	}
	t.Scopes = []parley.Scope{}
	for _, f := range strings.Fields(scopes) {
		t.Scopes = append(t.Scopes, parley.Scope(f))
	}
	t.CreatedAt = fromMillis(created)
	if used != nil {
		u := fromMillis(*used)
		t.LastUsedAt = &u
	}
	return t, nil
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
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users WHERE bot_owner = $1 AND username < '~'
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
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, t.UserID).Scan(&one); err != nil {
			return notFound(err, "user not found")
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE user_id = $1`, t.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= parley.APITokensPerBot {
			return parley.Errorf(parley.CodeConflict, "a bot has at most %d tokens; revoke one first", parley.APITokensPerBot)
		}
		_, err := tx.Exec(ctx, `INSERT INTO api_tokens (`+apiTokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, NULL)`,
			t.ID, t.UserID, t.Name, t.Hash, joinScopes(t.Scopes), millis(t.CreatedAt))
		return err
	})
}

// APITokens implements parley.BotStore.
func (s *Store) APITokens(ctx context.Context, botID string) ([]parley.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiTokenCols+` FROM api_tokens WHERE user_id = $1
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
	row := s.pool.QueryRow(ctx, `SELECT `+qualify("t", apiTokenCols)+`, `+qualify("u", userCols)+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1`, h)
	var u parley.User
	t, err := scanAPIToken(scanFunc(func(td ...any) error {
		var uerr error
		u, uerr = scanUser(scanFunc(func(ud ...any) error { return row.Scan(append(td, ud...)...) }))
		return uerr
	}))
	if err != nil {
		return parley.APIToken{}, parley.User{}, notFound(err, "token not found")
	}
	return t, u, nil
}

// TouchAPIToken implements parley.BotStore.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, millis(at))
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "token not found")
	}
	return nil
}

// DeleteAPIToken implements parley.BotStore.
func (s *Store) DeleteAPIToken(ctx context.Context, botID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE user_id = $1 AND id = $2`, botID, id)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "token not found")
	}
	return nil
}

const hookCols = `id, bot_id, conversation_id, secret_hash, created_at, last_used_at` // #nosec G101 -- column names, no credential

func scanHook(row pgx.Row) (parley.IncomingWebhook, error) {
	var (
		w       parley.IncomingWebhook
		created int64
		used    *int64
	)
	if err := row.Scan(&w.ID, &w.BotID, &w.ConversationID, &w.Hash, &created, &used); err != nil {
		return parley.IncomingWebhook{}, err
	}
	w.CreatedAt = fromMillis(created)
	if used != nil {
		u := fromMillis(*used)
		w.LastUsedAt = &u
	}
	return w, nil
}

// CreateIncomingWebhook implements parley.IncomingWebhookStore.
func (s *Store) CreateIncomingWebhook(ctx context.Context, w parley.IncomingWebhook) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, w.BotID).Scan(&one); err != nil {
			return notFound(err, "bot not found")
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM incoming_webhooks WHERE bot_id = $1`, w.BotID).Scan(&n); err != nil {
			return err
		}
		if n >= parley.IncomingWebhooksPerBot {
			return parley.Errorf(parley.CodeConflict, "a bot has at most %d incoming webhooks; delete one first", parley.IncomingWebhooksPerBot)
		}
		_, err := tx.Exec(ctx, `INSERT INTO incoming_webhooks (`+hookCols+`) VALUES ($1, $2, $3, $4, $5, NULL)`,
			w.ID, w.BotID, w.ConversationID, w.Hash, millis(w.CreatedAt))
		return err
	})
}

// IncomingWebhooks implements parley.IncomingWebhookStore.
func (s *Store) IncomingWebhooks(ctx context.Context, botID string) ([]parley.IncomingWebhook, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+hookCols+` FROM incoming_webhooks WHERE bot_id = $1
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
	w, err := scanHook(s.pool.QueryRow(ctx, `UPDATE incoming_webhooks SET last_used_at = $2 WHERE id = $1
		RETURNING `+hookCols, id, millis(at)))
	return w, notFound(err, "webhook not found")
}

// DeleteIncomingWebhook implements parley.IncomingWebhookStore.
func (s *Store) DeleteIncomingWebhook(ctx context.Context, botID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM incoming_webhooks WHERE bot_id = $1 AND id = $2`, botID, id)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return parley.Errorf(parley.CodeNotFound, "webhook not found")
	}
	return nil
}
