package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/parley-chat/parley"
)

// Reports; the same SQL as internal/postgres/report.go (other placeholders).

const reportCols = `id, reporter_id, target_user_id, conversation_id, seq, excerpt, reason, status, action,
	resolved_by, resolved_at, note, created_at`

func scanReport(sc interface{ Scan(...any) error }) (parley.Report, error) {
	var r parley.Report
	var resolved sql.NullInt64
	var created int64
	err := sc.Scan(&r.ID, &r.ReporterID, &r.TargetUserID, &r.ConversationID, &r.Seq, &r.Excerpt, &r.Reason, &r.Status,
		&r.Action, &r.ResolvedBy, &resolved, &r.Note, &created)
	if resolved.Valid {
		t := fromMillis(resolved.Int64)
		r.ResolvedAt = &t
	}
	r.CreatedAt = fromMillis(created)
	return r, err
}

// CreateReport implements parley.ReportStore.
func (s *Store) CreateReport(ctx context.Context, r parley.Report) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO reports (`+reportCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
			r.ID, r.ReporterID, r.TargetUserID, r.ConversationID, r.Seq, r.Excerpt, r.Reason, string(r.Status), string(r.Action),
			r.ResolvedBy, r.Note, millis(r.CreatedAt))
		return err
	})
}

// Report implements parley.ReportStore.
func (s *Store) Report(ctx context.Context, id string) (parley.Report, error) {
	r, err := scanReport(s.read.QueryRowContext(ctx, `SELECT `+reportCols+` FROM reports WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, parley.Errorf(parley.CodeNotFound, "report not found")
	}
	return r, translate(err)
}

// Reports implements parley.ReportStore.
func (s *Store) Reports(ctx context.Context, q parley.ReportQuery) ([]parley.Report, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if q.Status != "" {
		add("status = ?", string(q.Status))
	}
	if q.ConversationID != "" {
		add("conversation_id = ?", q.ConversationID)
	}
	if q.ReporterID != "" {
		add("reporter_id = ?", q.ReporterID)
	}
	if q.Before != "" {
		add("id < ?", q.Before)
	}
	sqlq := `SELECT ` + reportCols + ` FROM reports`
	if len(where) > 0 {
		sqlq += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, q.Limit)
	rows, err := s.read.QueryContext(ctx, sqlq+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []parley.Report{}
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

// OpenReports implements parley.ReportStore.
func (s *Store) OpenReports(ctx context.Context, reporterID string) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM reports WHERE reporter_id = ? AND status = ?`,
		reporterID, string(parley.ReportOpen)).Scan(&n)
	return n, translate(err)
}

// ResolveReport implements parley.ReportStore.
func (s *Store) ResolveReport(ctx context.Context, id string, action parley.ReportAction, by, note string, at time.Time) (parley.Report, error) {
	var r parley.Report
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE reports SET status = ?, action = ?, resolved_by = ?, resolved_at = ?, note = ?
			WHERE id = ? AND status = ?`, string(parley.ReportResolved), string(action), by, millis(at), note, id, string(parley.ReportOpen))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		r, err = scanReport(tx.QueryRowContext(ctx, `SELECT `+reportCols+` FROM reports WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return parley.Errorf(parley.CodeNotFound, "report not found")
		}
		if err == nil && n == 0 {
			return parley.ErrReportResolved()
		}
		return err
	})
	return r, err
}
