package e2ee

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Inner is the encrypted plaintext (docs/e2ee.md §7).
type Inner struct {
	Kind           string       `json:"kind"` // "msg" or "skd"
	ConversationID string       `json:"conversation_id"`
	SenderDevice   string       `json:"sender_device"`
	Ctr            uint64       `json:"ctr"`
	Body           string       `json:"body"`
	ReplyTo        int64        `json:"reply_to"`
	Mentions       []string     `json:"mentions"`
	Attachments    []Attachment `json:"attachments"`
	EditOf         string       `json:"edit_of,omitempty"`
	SKD            *SKD         `json:"skd,omitempty"`
}

// SKD is a sender-key distribution.
type SKD struct {
	ConversationID string `json:"conversation_id"`
	KeyID          []byte `json:"key_id"`
	Iteration      uint32 `json:"iteration"`
	ChainKey       []byte `json:"chain_key"`
	SignPub        []byte `json:"sign_pub"`
}

// Attachment is a client-side encrypted file (attachment.go).
type Attachment struct {
	URL    string `json:"url"`
	Name   string `json:"name"`
	MIME   string `json:"mime"`
	Size   int64  `json:"size"`
	Key    []byte `json:"key"`
	Nonce  []byte `json:"nonce"`
	SHA256 []byte `json:"sha256"`
}

// ParseInner decodes an inner plaintext and checks that it is bound to the
// outer conversation and sender device (else ErrForged). Undecodable input
// is ErrTruncated.
func ParseInner(b []byte, convID, senderDevice string) (Inner, error) {
	var in Inner
	if !utf8.Valid(b) {
		return in, ErrTruncated
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&in); err != nil || d.More() {
		return in, ErrTruncated
	}
	if in.ConversationID != convID || in.SenderDevice != senderDevice {
		return in, ErrForged
	}
	switch in.Kind {
	case "msg":
		if in.Ctr == 0 {
			return in, ErrForged
		}
	case "skd":
		s := in.SKD
		if s == nil || s.ConversationID != convID || len(s.KeyID) != 16 || len(s.ChainKey) != 32 || len(s.SignPub) != 32 {
			return in, ErrForged
		}
	default:
		return in, ErrForged
	}
	for _, a := range in.Attachments {
		if len(a.Key) != 32 || len(a.Nonce) != 12 || len(a.SHA256) != 32 {
			return in, ErrForged
		}
	}
	return in, nil
}
