package xmpp

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
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

// splitStanzasXML is the tokenizer-based split splitStanzas replaced: the
// oracle for well-formed input.
func splitStanzasXML(b []byte) [][]byte {
	d := xml.NewDecoder(bytes.NewReader(b))
	var parts [][]byte
	var depth int
	var from int64
	for {
		tok, err := d.RawToken()
		if err != nil {
			break
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				to := d.InputOffset()
				parts = append(parts, b[from:to])
				from = to
			}
		}
	}
	if rest := bytes.TrimSpace(b[from:]); len(rest) > 0 {
		parts = append(parts, b[from:])
	}
	return parts
}

// wellFormed reports whether b is a sequence of complete XML elements.
func wellFormed(b []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(b))
	depth := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return depth == 0
		}
		if err != nil {
			return false
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

var splitSeeds = []string{
	`<message to='a'><received xmlns='urn:xmpp:receipts' id='1'/></message><message to='a'><displayed xmlns='urn:xmpp:chat-markers:0' id='1'/></message>`,
	`<presence/>`,
	`<presence/><presence type="unavailable"/>`,
	`<a><b/></a>tail`,
	`<message id="x>y" to='b/c>d'><body>a &lt; b &gt; c</body></message>`,
	`<iq><!-- a > b --><query><![CDATA[<not a tag>]]></query></iq><iq/>`,
	`<?xml version='1.0'?><r>t</r>`,
}

// TestSplitStanzasAgreesWithTokenizer: on well-formed output the byte
// scanner splits where encoding/xml does.
func TestSplitStanzasAgreesWithTokenizer(t *testing.T) {
	for _, s := range splitSeeds {
		got, want := splitStanzas([]byte(s)), splitStanzasXML([]byte(s))
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("%s:\n got %q\nwant %q", s, got, want)
		}
	}
}

// FuzzSplitStanzas: never a byte lost or added; on well-formed input, the
// same split as encoding/xml.
func FuzzSplitStanzas(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := splitStanzas(b)
		j := bytes.Join(got, nil)
		if !bytes.HasPrefix(b, j) || len(bytes.TrimSpace(b[len(j):])) > 0 {
			t.Fatalf("parts %q do not cover %q", got, b)
		}
		if wellFormed(b) {
			if want := splitStanzasXML(b); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
				t.Fatalf("%q:\n got %q\nwant %q", b, got, want)
			}
		}
	})
}
