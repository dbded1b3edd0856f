package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/server"
)

// TestREADMEListsEveryServeFlag keeps README's configuration table honest:
// every flag of `parley serve` has exactly the row `parley serve --help`
// implies (name, environment twin, default, meaning, spelled the same),
// the table lists no flag that does not exist, and it is in alphabetical
// order.
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
	rows := map[string]string{}
	var order []string
	for _, m := range regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)` \\|.*$").FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]] = m[0]
		order = append(order, m[1])
	}
	fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			def = "`" + f.DefValue + "`"
		}
		usage, _, _ := strings.Cut(f.Usage, " [env "+server.EnvName(f.Name)+"]")
		want := "| `--" + f.Name + "` | `" + server.EnvName(f.Name) + "` | " + def + " | " + usage + " |"
		switch got, ok := rows[f.Name]; {
		case !ok:
			t.Errorf("README.md configuration table has no row for --%s; add:\n%s", f.Name, want)
		case got != want:
			t.Errorf("README.md row for --%s differs from --help:\n got: %s\nwant: %s", f.Name, got, want)
		}
		delete(rows, f.Name)
	})
	for name := range rows {
		t.Errorf("README.md lists --%s, which parley serve does not have", name)
	}
	if !slices.IsSorted(order) {
		t.Errorf("README.md configuration table is not in alphabetical order: %v", order)
	}
}

// TestServeHelpSpellsFlagsLikeREADME checks that `parley serve --help`
// names every flag as README does (--name), with its environment twin.
func TestServeHelpSpellsFlagsLikeREADME(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	help := out.String() + errb.String()
	cfg := server.Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	_ = cfg.Bind(fs, func(string) string { return "" })
	fs.VisitAll(func(f *flag.Flag) {
		if !regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(f.Name) + `( |$)`).MatchString(help) {
			t.Errorf("--help does not list --%s", f.Name)
		}
		if !strings.Contains(help, "[env "+server.EnvName(f.Name)+"]") {
			t.Errorf("--help does not name %s", server.EnvName(f.Name))
		}
	})
	if m := regexp.MustCompile(`(?m)^  -[a-z]`).FindString(help); m != "" {
		t.Errorf("--help spells a flag with one dash: %q", m)
	}
	if !strings.Contains(help, "(default 1MiB)") {
		t.Errorf("--help lacks the size default:\n%s", help)
	}
}
