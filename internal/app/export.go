package app

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley"
)

// Data export (docs/data.md): everything Parley holds about the caller as a
// zip — JSON documents and the files they uploaded — written straight to
// the response: the store is read a page at a time and files are copied
// blob by blob, so memory does not grow with the size of the export.

const exportPage = 500

// exports bounds exports per user: one at a time, and at most 2 in a burst
// then one every 10 minutes (an export reads everything the user has).
type exports struct {
	limit   *Limiter
	mu      sync.Mutex
	running map[string]bool
}

func newExports(now func() time.Time) *exports {
	return &exports{limit: NewLimiter(1.0/600, 2, now), running: map[string]bool{}}
}

// ExportName is the file name of the caller's export.
func (a *App) ExportName(u parley.User) string {
	return "parley-export-" + u.Username + "-" + a.now().UTC().Format("2006-01-02") + ".zip"
}

// StartExport checks that the caller may export now and returns their
// account and a function that writes the zip to w. Call it before sending
// anything: its errors are the clean ones (CodeRateLimited with RetryAfter,
// CodeConflict while another export of theirs runs). API tokens and bots
// cannot export.
func (a *App) StartExport(ctx context.Context, actor parley.Actor) (parley.User, func(w io.Writer) error, error) {
	u, err := a.person(ctx, actor)
	if err != nil {
		return parley.User{}, nil, err
	}
	x := a.exports
	x.mu.Lock()
	if x.running[u.ID] {
		x.mu.Unlock()
		return parley.User{}, nil, parley.Errorf(parley.CodeConflict, "an export of your data is running already")
	}
	if ok, wait := x.limit.Allow(u.ID); !ok {
		x.mu.Unlock()
		return parley.User{}, nil, &parley.Error{Code: parley.CodeRateLimited, RetryAfter: wait,
			Message: "you exported your data recently; wait before the next export"}
	}
	x.running[u.ID] = true
	x.mu.Unlock()
	write := func(w io.Writer) error {
		defer func() { x.mu.Lock(); delete(x.running, u.ID); x.mu.Unlock() }()
		err := a.writeExport(ctx, actor, u, w)
		if err != nil {
			a.log.Warn("data export failed", "user_id", u.ID, "err", err)
		} else {
			a.log.Info("data exported", "user_id", u.ID)
		}
		return err
	}
	return u, write, nil
}

func (a *App) writeExport(ctx context.Context, actor parley.Actor, u parley.User, w io.Writer) error {
	z := zip.NewWriter(w)
	now := a.now().UTC()
	put := func(name string, v any) error {
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if err := a.exportAccount(ctx, actor, u, put); err != nil {
		return err
	}
	if err := a.exportConversations(ctx, u, put); err != nil {
		return err
	}
	if err := a.exportMessages(ctx, u, z, now); err != nil {
		return err
	}
	if err := a.exportFiles(ctx, u, z, now, put); err != nil {
		return err
	}
	rd, err := z.CreateHeader(&zip.FileHeader{Name: "README.txt", Method: zip.Deflate, Modified: now})
	if err != nil {
		return err
	}
	fmt.Fprintf(rd, "Your data on this Parley server, exported %s for @%s.\n\n"+
		"account.json        your account, settings, sessions, app passwords, bots, two-factor state\n"+
		"conversations.json  the conversations you are a member of\n"+
		"messages.json       every message you wrote (deleted ones as tombstones), oldest first\n"+
		"files.json          the files you uploaded; their contents are under files/\n\n"+
		"Secrets (password hash, tokens, two-factor secret, recovery codes) are not exported.\n",
		now.Format(time.RFC3339), u.Username)
	return z.Close()
}

func (a *App) exportAccount(ctx context.Context, actor parley.Actor, u parley.User, put func(string, any) error) error {
	sessions, err := a.store.Sessions(ctx, u.ID)
	if err != nil {
		return err
	}
	apw, err := a.store.AppPasswords(ctx, u.ID)
	if err != nil {
		return err
	}
	bots, err := a.store.Bots(ctx, u.ID)
	if err != nil {
		return err
	}
	tf, err := a.TwoFactorStatus(ctx, actor)
	if err != nil {
		return err
	}
	privacy, err := a.store.PrivacySettings(ctx, u.ID)
	if err != nil && !parley.IsCode(err, parley.CodeNotFound) {
		return err
	}
	return put("account.json", map[string]any{
		"user": u, "two_factor": tf, "sessions": sessions, "app_passwords": apw, "bots": bots,
		"privacy": privacy, "exported_at": a.now().UTC(),
	})
}

func (a *App) exportConversations(ctx context.Context, u parley.User, put func(string, any) error) error {
	ids, err := a.store.ConversationIDs(ctx, u.ID)
	if err != nil {
		return err
	}
	type entry struct {
		Conversation parley.Conversation `json:"conversation"`
		Membership   parley.Member       `json:"membership"`
	}
	out := make([]entry, 0, len(ids))
	for _, id := range ids {
		c, err := a.store.Conversation(ctx, id)
		if err != nil {
			continue // left or deleted meanwhile
		}
		m, err := a.store.Member(ctx, id, u.ID)
		if err != nil {
			continue
		}
		out = append(out, entry{c, m})
	}
	return put("conversations.json", out)
}

// exportMessages writes messages.json as a JSON array, a page at a time.
func (a *App) exportMessages(ctx context.Context, u parley.User, z *zip.Writer, now time.Time) error {
	f, err := z.CreateHeader(&zip.FileHeader{Name: "messages.json", Method: zip.Deflate, Modified: now})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, "["); err != nil {
		return err
	}
	first := true
	for after := ""; ; {
		page, err := a.store.MessagesBySender(ctx, u.ID, after, exportPage)
		if err != nil {
			return err
		}
		for _, m := range page {
			b, err := json.Marshal(m)
			if err != nil {
				return parley.Internal(err)
			}
			sep := ",\n  "
			if first {
				sep, first = "\n  ", false
			}
			if _, err := io.WriteString(f, sep); err != nil {
				return err
			}
			if _, err := f.Write(b); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			break
		}
		after = page[len(page)-1].ID
	}
	_, err = io.WriteString(f, "\n]\n")
	return err
}

// exportFiles copies every live file the user uploaded (message files and
// avatars) into files/, and indexes them in files.json.
func (a *App) exportFiles(ctx context.Context, u parley.User, z *zip.Writer, now time.Time, put func(string, any) error) error {
	type fileEntry struct {
		parley.Attachment
		Purpose        parley.AttachmentPurpose `json:"purpose"`
		ConversationID string                   `json:"conversation_id,omitempty"`
		Seq            int64                    `json:"seq,omitempty"`
		CreatedAt      time.Time                `json:"created_at"`
		Path           string                   `json:"path"` // inside the zip; "" if the content could not be read
	}
	var index []fileEntry
	for after := ""; ; {
		page, err := a.store.AttachmentsByOwner(ctx, u.ID, after, exportPage)
		if err != nil {
			return err
		}
		for _, st := range page {
			e := fileEntry{Attachment: st.Attachment, Purpose: st.Purpose, ConversationID: st.ConversationID,
				Seq: st.Seq, CreatedAt: st.CreatedAt}
			file, err := a.open(ctx, st, VariantOriginal)
			if err == nil {
				e.Path = "files/" + st.ID + "-" + safeZipName(st.Name)
				hdr := &zip.FileHeader{Name: e.Path, Method: zip.Store, Modified: st.CreatedAt}
				fw, cerr := z.CreateHeader(hdr)
				if cerr == nil {
					_, cerr = io.Copy(fw, file.Content)
				}
				_ = file.Content.Close()
				if cerr != nil {
					return cerr
				}
			} else if !parley.IsCode(err, parley.CodeNotFound) {
				return err
			}
			index = append(index, e)
		}
		if len(page) < exportPage {
			break
		}
		after = page[len(page)-1].ID
	}
	if index == nil {
		index = []fileEntry{}
	}
	return put("files.json", index)
}

// safeZipName keeps a stored file name safe inside a zip: no directories,
// no "..", nothing empty.
func safeZipName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "." || name == ".." || name == "/" || name == "" {
		return "file"
	}
	return name
}
