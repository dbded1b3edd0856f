package e2e_test

import (
	"os"
	"strings"
	"testing"
)

// docs/bots.md shows the example bot's code as it is in
// client/examples/pingbot (which TestBots runs).
func TestBotsDocShowsTheExample(t *testing.T) {
	src, err := os.ReadFile("../../client/examples/pingbot/pingbot.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/bots.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	code := strings.TrimSpace(s[strings.Index(s, "// Run answers"):])
	if !strings.Contains(string(doc), "```go\n"+code+"\n```") {
		t.Fatal("docs/bots.md does not show client/examples/pingbot's Run as it is; copy it again")
	}
}
