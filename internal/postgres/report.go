package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-chat/parley"
)

// Reports; the same SQL as internal/sqlite/report.go.

const reportCols = `id, reporter_id, target_user_id, conversation_id, seq, excerpt, reason, status, action,
	resolved_by, resolved_at, note, created_at`

func scanReport(sc interface{ Scan(...any) error }) (parley.Report, error) {
	var r parley.Report
	var resolved *int64
	var created int64
	var status, action string
	err := sc.Scan(&r.ID, &r.ReporterID, &r.TargetUserID, &r.ConversationID, &r.Seq, &r.Excerpt, &r.Reason, &status,
		&action, &r.ResolvedBy, &resolved, &r.Note, &created)
	r.Status, r.Action = parley.ReportStatus(status), parley.ReportAction(action)
	if resolved != nil {
		t := fromMillis(*resolved)
		r.ResolvedAt = &t
	}
	r.CreatedAt = fromMillis(created)
	return r, err
}

// CreateReport implements parley.ReportStore.
func (s *Store) CreateReport(ctx context.Context, r parley.Report) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO reports (`+reportCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, $12)`,
		r.ID, r.ReporterID, r.TargetUserID, r.ConversationID, r.Seq, r.Excerpt, r.Reason, string(r.Status), string(r.Action),
		r.ResolvedBy, r.Note, millis(r.CreatedAt))
	return translate(err)
}

// Report implements parley.ReportStore.
func (s *Store) Report(ctx context.Context, id string) (parley.Report, error) {
	r, err := scanReport(s.pool.QueryRow(ctx, `SELECT `+reportCols+` FROM reports WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, parley.Errorf(parley.CodeNotFound, "report not found")
	}
	return r, translate(err)
}

// Reports implements parley.ReportStore.
func (s *Store) Reports(ctx context.Context, q parley.ReportQuery) ([]parley.Report, error) {
	var where []string
	var args []any
	add := func(col string, v any) {
		args = append(args, v)
		where = append(where, col+" $"+strconv.Itoa(len(args)))
	}
	if q.Status != "" {
		add("status =", string(q.Status))
	}
	if q.ConversationID != "" {
		add("conversation_id =", q.ConversationID)
	}
	if q.ReporterID != "" {
		add("reporter_id =", q.ReporterID)
	}
	if q.Before != "" {
		add("id <", q.Before)
	}
	sqlq := `SELECT ` + reportCols + ` FROM reports`
	if len(where) > 0 {
		sqlq += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, q.Limit)
	rows, err := s.pool.Query(ctx, sqlq+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
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
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM reports WHERE reporter_id = $1 AND status = $2`,
		reporterID, string(parley.ReportOpen)).Scan(&n)
	return n, translate(err)
}

// ResolveReport implements parley.ReportStore.
func (s *Store) ResolveReport(ctx context.Context, id string, action parley.ReportAction, by, note string, at time.Time) (parley.Report, error) {
	var r parley.Report
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE reports SET status = $1, action = $2, resolved_by = $3, resolved_at = $4, note = $5
			WHERE id = $6 AND status = $7`, string(parley.ReportResolved), string(action), by, millis(at), note, id, string(parley.ReportOpen))
		if err != nil {
			return err
		}
		r, err = scanReport(tx.QueryRow(ctx, `SELECT `+reportCols+` FROM reports WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return parley.Errorf(parley.CodeNotFound, "report not found")
		}
		if err == nil && tag.RowsAffected() == 0 {
			return parley.ErrReportResolved()
		}
		return err
	})
	return r, err
}
