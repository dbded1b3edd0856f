package main

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/server"
)

// TestREADMEListsEveryServeFlag keeps README's configuration table honest:
// every flag of `parley serve` and its environment twin must appear in it.
func TestREADMEListsEveryServeFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	if err := cfg.Bind(fs, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	fs.VisitAll(func(f *flag.Flag) {
		row := "| `--" + f.Name + "` | `" + server.EnvName(f.Name) + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md configuration table has no row for --%s / %s", f.Name, server.EnvName(f.Name))
		}
	})
}
