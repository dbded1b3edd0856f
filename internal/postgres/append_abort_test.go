package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/postgres/pgtest"
)

// An append whose attachment binding fails after its message row was
// inserted (a trigger refuses the UPDATE of one file) must not leave that
// row behind holding a seq: the batch's transaction rolls back whole, the
// other appends of the batch are retried and stored, the failed one is
// refused, and the conversation stays gap-free. Sending the same message
// again once the fault is gone takes the next seq.
func TestAppendFailingAfterItsRowRollsBackTheBatch(t *testing.T) {
	t.Parallel()
	u := pgtest.Schema(t)
	s := openURL(t, u)
	ctx := context.Background()
	conv, users := seed(t, s, 16)

	file := func(owner, name string) parley.Attachment {
		t.Helper()
		a := parley.StoredAttachment{Attachment: parley.Attachment{ID: parley.NewID(), Name: name, MIME: "text/plain", Size: 10},
			Purpose: parley.PurposeFile, OwnerID: owner, BlobKey: strings.Repeat("b", 64), CreatedAt: time.Now()}
		if err := s.CreateAttachment(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a.Attachment
	}
	poison := file(users[0], "poison")
	good := make([]parley.Attachment, len(users))
	for i := 1; i < len(users); i++ {
		good[i] = file(users[i], fmt.Sprint("good", i))
	}

	conn, err := pgxpool.New(ctx, u) // the URL carries pool settings
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(ctx, `CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.name = 'poison' AND NEW.conversation_id IS NOT NULL THEN
				RAISE EXCEPTION 'injected fault: binding a poisoned attachment';
			END IF;
			RETURN NEW;
		END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TRIGGER poison BEFORE UPDATE ON attachments FOR EACH ROW EXECUTE FUNCTION poison()`); err != nil {
		t.Fatal(err)
	}

	// Many concurrent appends so the poisoned one shares batches with others.
	bad := msg(conv, users[0], "poisoned")
	bad.Attachments = []parley.Attachment{poison}
	const rounds = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := 0
	var badErr error
	for w := 0; w < len(users); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				m := msg(conv, users[w], fmt.Sprintf("%d-%d", w, i))
				if w > 0 && i == rounds/2 {
					m.Attachments = []parley.Attachment{good[w]}
				}
				if w == 0 && i == rounds/2 {
					m = bad
				}
				_, created, err := s.AppendMessage(ctx, m, parley.CheckMember, nil)
				mu.Lock()
				if m.ID == bad.ID {
					badErr = err
				} else if err != nil || !created {
					t.Errorf("append %s: created=%v %v", m.ClientMsgID, created, err)
				} else {
					stored++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if badErr == nil {
		t.Fatal("the poisoned append was acknowledged")
	}
	if e := parley.AsError(badErr); e.Err == nil || !strings.Contains(e.Err.Error(), "injected fault") {
		t.Fatalf("the poisoned append failed for another reason: %v (%v)", badErr, e.Err)
	}
	t.Logf("poisoned append refused: %v", badErr)
	all := checkGapFree(t, s, conv, stored)
	for _, m := range all {
		if m.ID == bad.ID {
			t.Fatalf("the failed append's row is stored at seq %d", m.Seq)
		}
		if m.ClientMsgID != "" && strings.HasSuffix(m.ClientMsgID, fmt.Sprint("-", rounds/2)) && m.SenderID != users[0] &&
			len(m.Attachments) != 1 {
			t.Errorf("message %s lost its attachment: %+v", m.ClientMsgID, m)
		}
	}
	_, err = s.MessageByClientID(ctx, users[0], "poisoned")
	if !parley.IsCode(err, parley.CodeNotFound) {
		t.Fatalf("lookup of the failed append: %v", err)
	}
	if a, err := s.Attachment(ctx, poison.ID); err != nil || a.ConversationID != "" {
		t.Fatalf("the poisoned file is bound: %+v %v", a, err)
	}

	// The fault gone, the same message is stored at the next seq.
	if _, err := conn.Exec(ctx, `DROP TRIGGER poison ON attachments`); err != nil {
		t.Fatal(err)
	}
	m, created, err := s.AppendMessage(ctx, bad, parley.CheckMember, nil)
	if err != nil || !created || m.Seq != int64(stored+1) || len(m.Attachments) != 1 {
		t.Fatalf("resend after the fault: %+v created=%v %v", m, created, err)
	}
	checkGapFree(t, s, conv, stored+1)
}
