package app_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
)

func TestUploadSlotAndCapability(t *testing.T) {
	e := newMediaEnv(t, app.MediaLimits{MaxFileBytes: 1000, QuotaBytes: 1500})
	ctx := context.Background()
	alice, bob := e.user(t, "alice"), e.user(t, "bob")
	data := []byte("hello, slot")
	code := func(err error, c parley.Code) {
		t.Helper()
		if !parley.IsCode(err, c) {
			t.Fatalf("got %v, want %s", err, c)
		}
	}

	// Bad requests.
	_, err := e.app.CreateUploadSlot(ctx, parley.Actor{}, "a.txt", 10)
	code(err, parley.CodeUnauthenticated)
	_, err = e.app.CreateUploadSlot(ctx, alice, "a.txt", 0)
	code(err, parley.CodeInvalid)
	_, err = e.app.CreateUploadSlot(ctx, alice, "a.txt", 1001)
	code(err, parley.CodeTooLarge)

	slot, err := e.app.CreateUploadSlot(ctx, alice, "../notes.txt", int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if slot.Name != app.SanitizeFileName("../notes.txt") || !parley.ValidID(slot.AttachmentID) {
		t.Fatalf("slot %+v", slot)
	}
	// Before the PUT, the capability finds nothing.
	_, err = e.app.OpenFileCapability(ctx, slot.AttachmentID, slot.Capability)
	code(err, parley.CodeNotFound)

	// Wrong size, forged token, then the real PUT, then a second one.
	_, err = e.app.FillUploadSlot(ctx, slot.Token, bytes.NewReader(data), int64(len(data))+1)
	code(err, parley.CodeInvalid)
	forged := slot.Token[:len(slot.Token)-2] + "xx"
	_, err = e.app.FillUploadSlot(ctx, forged, bytes.NewReader(data), int64(len(data)))
	code(err, parley.CodeUnauthenticated)
	_, err = e.app.FillUploadSlot(ctx, "no-dot", bytes.NewReader(data), int64(len(data)))
	code(err, parley.CodeUnauthenticated)
	_, err = e.app.FillUploadSlot(ctx, strings.Repeat("a", 2000)+"."+"b", bytes.NewReader(data), int64(len(data)))
	code(err, parley.CodeUnauthenticated)
	att, err := e.app.FillUploadSlot(ctx, slot.Token, bytes.NewReader(data), int64(len(data)))
	if err != nil || att.ID != slot.AttachmentID || att.Size != int64(len(data)) {
		t.Fatalf("fill: %+v %v", att, err)
	}
	_, err = e.app.FillUploadSlot(ctx, slot.Token, bytes.NewReader(data), int64(len(data)))
	code(err, parley.CodeConflict)

	// The file is alice's unsent attachment: bob cannot send it, alice can.
	if _, err := e.app.Attachment(ctx, alice, att.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.app.Attachment(ctx, bob, att.ID)
	code(err, parley.CodeNotFound)

	// The capability serves it to anyone; a wrong one is refused.
	f, err := e.app.OpenFileCapability(ctx, att.ID, slot.Capability)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f.Content)
	_ = f.Content.Close()
	if !bytes.Equal(got, data) || slot.Capability != e.app.FileCapability(att.ID) {
		t.Fatalf("capability served %q", got)
	}
	_, err = e.app.OpenFileCapability(ctx, att.ID, strings.Repeat("0", 64))
	code(err, parley.CodeUnauthenticated)
	_, err = e.app.OpenFileCapability(ctx, att.ID, "short")
	code(err, parley.CodeUnauthenticated)

	// Quota: 1500 bytes, 11 used; a slot for 1000 more fits, a second does not
	// once the first is filled.
	big, err := e.app.CreateUploadSlot(ctx, alice, "big.bin", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.FillUploadSlot(ctx, big.Token, bytes.NewReader(make([]byte, 1000)), 1000); err != nil {
		t.Fatal(err)
	}
	_, err = e.app.CreateUploadSlot(ctx, alice, "more.bin", 1000)
	code(err, parley.CodeTooLarge)

	// A slot expires.
	late, err := e.app.CreateUploadSlot(ctx, bob, "late.txt", 4)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(app.SlotTTL + time.Second)
	_, err = e.app.FillUploadSlot(ctx, late.Token, strings.NewReader("late"), 4)
	code(err, parley.CodeUnauthenticated)

	// Deleting the file ends its capability.
	if err := e.app.DeleteAttachment(ctx, alice, att.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.app.OpenFileCapability(ctx, att.ID, slot.Capability)
	code(err, parley.CodeNotFound)
}
