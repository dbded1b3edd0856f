package parley

import "context"

// Commit order hooks.
//
// A client may pipeline writes: send a second message before the first is
// acknowledged. Its messages must still be stored in the order it sent
// them, yet waiting for each durable commit before taking the next write
// would cap one connection at one message per commit. Stores therefore tell
// the caller, through the context, the moment a write's place in the commit
// order is fixed: a write whose call starts after that moment commits after
// it (and so gets a later seq in the same conversation), even though the
// first is not durable yet. A transport can then start the next write right
// away and still keep the client's order.

type queuedKey struct{}

// WithQueued returns a context whose writes call fn once their place in the
// store's commit order is fixed (see Queued). fn runs on the writer's
// goroutine, must not block, and may be called more than once if the
// context is reused for several writes.
func WithQueued(ctx context.Context, fn func()) context.Context {
	return context.WithValue(ctx, queuedKey{}, fn)
}

// Queued is called by a Store write method once the write's place in the
// commit order is fixed — it has been handed to the committer, or it holds
// the locks that order it — and before the method waits for durability. A
// write that fails before that point never calls it. No-op unless ctx came
// from WithQueued.
func Queued(ctx context.Context) {
	if fn, ok := ctx.Value(queuedKey{}).(func()); ok {
		fn()
	}
}
