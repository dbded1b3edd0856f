package app

import "context"

// FlushPassed stores the cursors a Notifier moved in memory only (what its
// sweep does every NotifierOptions.Sweep).
func (n *Notifier) FlushPassed(ctx context.Context) { n.flushPassed(ctx) }
