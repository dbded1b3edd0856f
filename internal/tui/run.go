package tui

import (
	"context"
	"errors"
	"io"

	tea "charm.land/bubbletea/v2"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/client/offline"
)

// Run shows the chat screen for the user selfID over the store st, kept in
// step through c, until the user quits or ctx ends. in and out are the
// terminal (nil: the process's own).
func Run(ctx context.Context, st *offline.Store, c *client.Client, selfID string, opts Options, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// One forwarder keeps events and states in order without ever
	// blocking Sync; if the screen falls 4,096 behind, events (typing,
	// presence, notifications: advisory) are dropped, while the store's own
	// change signal still refreshes what is shown.
	var p *tea.Program
	queue := make(chan tea.Msg, 4096)
	enqueue := func(msg tea.Msg) {
		select {
		case queue <- msg:
		default:
		}
	}
	k := opts.E2EE
	s := offline.NewSync(st, c, offline.SyncOptions{
		OnEvent: func(e client.Event) {
			if k != nil && (e.Type == "e2ee_devices" || e.Type == "message") {
				go k.HandleEvent(ctx, e) // may fetch device lists: never block Sync
			}
			enqueue(EventMsg(e))
		},
		OnStatus: func(s offline.Status) { enqueue(StatusMsg(s)) },
	})
	live := NewLive(s, selfID)
	if k != nil {
		live = NewLiveE2EE(s, selfID, k)
		users, _ := st.Users()
		k.OnKeyChange = func(userID string) {
			name := userID
			if u, ok := users[userID]; ok {
				name = u.Username
			}
			enqueue(doneMsg{info: "⚠ " + name + "'s keys changed (a new or removed device): compare /safety"})
		}
	}
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if in != nil {
		popts = append(popts, tea.WithInput(in))
	}
	if out != nil {
		popts = append(popts, tea.WithOutput(out))
	}
	p = tea.NewProgram(New(live, opts), popts...)
	changed := st.Changed()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case msg := <-queue:
				p.Send(msg)
			case <-changed:
				p.Send(ChangedMsg{})
			}
		}
	}()
	syncDone := make(chan error, 1)
	go func() { syncDone <- s.Run(ctx) }()
	_, err := p.Run()
	cancel()
	<-syncDone
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}
