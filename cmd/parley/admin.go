package main

import (
	"context"
	"io"
)

// runAdmin runs operator commands against the configured store.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errUsage
}
