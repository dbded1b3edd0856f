package xmpp

import (
	"strings"
	"testing"
)

// TestSplitStanzas: stream management counts every stanza one event renders
// (a receipt that is delivered and displayed renders two <message/>s).
func TestSplitStanzas(t *testing.T) {
	two := `<message to='a'><received xmlns='urn:xmpp:receipts' id='1'/></message><message to='a'><displayed xmlns='urn:xmpp:chat-markers:0' id='1'/></message>`
	parts := splitStanzas([]byte(two))
	if len(parts) != 2 || strings.Join([]string{string(parts[0]), string(parts[1])}, "") != two ||
		!strings.HasPrefix(string(parts[1]), "<message") {
		t.Fatalf("parts %q", parts)
	}
	if p := splitStanzas([]byte(`<presence/>`)); len(p) != 1 || string(p[0]) != `<presence/>` {
		t.Fatalf("one: %q", p)
	}
	if p := splitStanzas([]byte(`<a><b/></a>tail`)); len(p) != 2 || string(p[1]) != "tail" {
		t.Fatalf("tail kept: %q", p)
	}
}
