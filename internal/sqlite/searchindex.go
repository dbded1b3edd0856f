package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite"
)

// The search indexer adds new messages to messages_fts off the commit path
// (migration 0022 explains why). It wakes every indexInterval, and while
// rows are waiting indexes them in transactions of at most indexChunk rows
// on the write connection. Each such transaction holds the writer (and so
// the message committer) for its duration: 250 rows keep that to a few
// milliseconds (1,000 held it for tens of milliseconds at 8,000 msg/s and
// doubled p99 of `parley bench dm`, docs/benchmarks.md "Performance round
// two"), at the cost of more, smaller FTS5 segments to merge. SearchMessages covers the rows it has not reached yet by
// scanning them, so its results never depend on the indexer's progress.
var (
	indexInterval = 200 * time.Millisecond
	indexChunk    = int64(250)
)

func init() {
	// parley_fold(s) is the case folding SearchMessages applies to rows the
	// index does not cover (Unicode lower case; the trigram tokenizer folds
	// the same way, and also removes diacritics).
	sqlite3.MustRegisterDeterministicScalarFunction("parley_fold", 1,
		func(_ *sqlite3.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return strings.ToLower(v), nil
			case []byte:
				return strings.ToLower(string(v)), nil
			}
			return args[0], nil
		})
}

type indexer struct {
	quit, done chan struct{}
}

func (s *Store) startIndexer() {
	ix := &indexer{quit: make(chan struct{}), done: make(chan struct{})}
	s.index = ix
	go func() {
		defer close(ix.done)
		t := time.NewTicker(indexInterval)
		defer t.Stop()
		for {
			select {
			case <-ix.quit:
				return
			case <-t.C:
			}
			for {
				n, err := s.indexSome(context.Background())
				if err != nil || n < indexChunk {
					break // errors: the rows stay covered by scanning; retried next tick
				}
				select {
				case <-ix.quit:
					return
				default:
				}
			}
		}
	}()
}

func (s *Store) stopIndexer() {
	if s.index == nil {
		return
	}
	close(s.index.quit)
	<-s.index.done
	s.index = nil
}

// IndexPending indexes every message not yet in the search index (tests and
// benchmarks use it to reach a known state).
func (s *Store) IndexPending(ctx context.Context) error {
	for {
		n, err := s.indexSome(ctx)
		if err != nil || n < indexChunk {
			return err
		}
	}
}

// indexSome indexes up to indexChunk rows after indexed_rid in one
// transaction and returns how many rids it advanced over.
func (s *Store) indexSome(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var from, last int64
		if err := tx.QueryRowContext(ctx, `SELECT indexed_rid FROM search_index_state`).Scan(&from); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(rid), 0) FROM messages`).Scan(&last); err != nil {
			return err
		}
		to := min(last, from+indexChunk)
		if to <= from {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages_fts (rowid, body) SELECT rid, body FROM messages
			WHERE rid > ? AND rid <= ? AND kind = 'user' AND body <> '' AND deleted = 0`, from, to); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE search_index_state SET indexed_rid = ?`, to); err != nil {
			return err
		}
		n = to - from
		return nil
	})
	return n, err
}
