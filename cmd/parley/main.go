// Command parley is the Parley chat server and its tools, in one binary.
//
//	parley serve   run a node (embedded SQLite by default)
//	parley admin   operator commands on the data directory or database
//	parley chat    the terminal client; chat send / chat tail for scripts
//	parley version print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/parley-chat/parley/internal/server"
)

// command is one subcommand. run receives the arguments after its name.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run a Parley node", runServe},
		{"bench", "load-test a server with the standard workloads (idle, dm, group, storm, history)", runBench},
		{"check", "the nothing-lost checker: send under injected faults, account for every message", runCheck},
		{"admin", "operator commands (create an admin, disable an account…)", runAdmin},
		{"backup", "write a consistent snapshot of a SQLite node (running or not) to a file", runBackup},
		{"restore", "check a backup and restore it into an empty data directory", runRestore},
		{"chat", "the terminal client (and chat send / chat tail for scripts)", runChat},
		{"version", "print the version, commit and Go release", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the process exit code:
// 0 success, 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			var ec interface{ ExitCode() int }
			if errors.As(err, &ec) {
				fmt.Fprintln(stderr, "parley "+c.name+":", err)
				return ec.ExitCode()
			}
			fmt.Fprintln(stderr, "parley "+c.name+":", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "parley: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// errUsage marks an error already reported with usage text.
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "Parley — a self-hosted chat server.\n\nUsage: parley <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'parley <command> --help' for a command's flags.")
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := server.Default()
	fs := flag.NewFlagSet("parley serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: parley serve [flags]\n\nRuns a Parley node. Every flag has an environment twin, shown in brackets.\n\nFlags:")
		printFlags(stderr, fs)
	}
	if err := cfg.Bind(fs, os.Getenv); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parley serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	srv, err := server.New(ctx, cfg, server.NewLogger(cfg, stderr))
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
