package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/parley-chat/parley/internal/server"
)

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: parley version\n\nPrints the version, the commit it was built from and the Go release.")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parley version: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	bi, _ := debug.ReadBuildInfo()
	_, err := fmt.Fprint(stdout, server.VersionText(server.Version, bi))
	return err
}
