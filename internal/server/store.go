package server

import (
	"context"

	"github.com/parley-chat/parley"
)

// OpenStore opens the store cfg configures — the same one `parley serve`
// would use — for operator tools such as `parley admin`. The caller closes
// it. With embedded SQLite this fails with CodeUnavailable while a server
// holds the data directory.
func OpenStore(ctx context.Context, cfg Config) (parley.Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return openStore(ctx, cfg)
}
