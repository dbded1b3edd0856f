package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// Slash commands (docs/bots.md): "/name text" typed in a conversation goes
// to the bot @name — which must be a member there and have an outgoing
// webhook — as a signed POST {"event":"command", …}, answered synchronously
// with {"text": "…"}; a non-empty answer is posted as the bot's message.

// CommandInput is one slash command.
type CommandInput struct {
	ConversationID string
	Command        string // the bot's username, without the slash
	Text           string // what follows the command
}

type commandPayload struct {
	Event          string `json:"event"`
	WebhookID      string `json:"webhook_id"`
	BotID          string `json:"bot_id"`
	ConversationID string `json:"conversation_id"`
	UserID         string `json:"user_id"`
	Command        string `json:"command"`
	Text           string `json:"text"`
}

// RunCommand sends a slash command to its bot and posts the bot's answer.
// It returns the posted message, or nil when the bot answered with no
// text. Errors: CodeInvalid/CodeTooLarge (fields command, text);
// CodeNotFound for a conversation the caller cannot see or (field command)
// no such bot in it; CodeForbidden for a non-member of a public channel;
// CodeConflict when the bot has no enabled outgoing webhook;
// CodeUnavailable when the bot does not answer (in time, with 2xx JSON).
func (a *App) RunCommand(ctx context.Context, actor parley.Actor, in CommandInput) (*parley.Message, error) {
	if actor.Anonymous() {
		return nil, unauthenticated("sign in first")
	}
	name, err := parley.CanonicalUsername(in.Command)
	if err != nil {
		pe := parley.AsError(err)
		return nil, &parley.Error{Code: pe.Code, Field: "command", Message: "no such command: " + pe.Message}
	}
	if !utf8.ValidString(in.Text) {
		return nil, parley.Invalid("text", "text must be valid UTF-8")
	}
	if limit := a.maxMessageChars(ctx, actor.Org); utf8.RuneCountInString(in.Text) > limit {
		return nil, parley.TooLarge("text", "text must be at most %d characters", limit)
	}
	if _, m, err := a.access(ctx, actor, in.ConversationID); err != nil {
		return nil, err
	} else if m == nil {
		return nil, forbidden("join the channel first")
	}
	noBot := &parley.Error{Code: parley.CodeNotFound, Field: "command", Message: "no bot @" + name + " in this conversation"}
	bot, err := a.store.UserByUsername(ctx, name)
	if parley.IsCode(err, parley.CodeNotFound) || err == nil && (!bot.Bot() || bot.Disabled) {
		return nil, noBot
	} else if err != nil {
		return nil, err
	}
	if _, err := a.store.Member(ctx, in.ConversationID, bot.ID); parley.IsCode(err, parley.CodeNotFound) {
		return nil, noBot
	} else if err != nil {
		return nil, err
	}
	hooks, err := a.store.OutgoingWebhooks(ctx, bot.ID)
	if err != nil {
		return nil, err
	}
	var hook *parley.OutgoingWebhook
	for i := range hooks {
		if !hooks[i].Disabled {
			hook = &hooks[i] // newest first: the newest enabled one
			break
		}
	}
	if hook == nil {
		return nil, parley.Errorf(parley.CodeConflict, "@%s takes no commands (it has no enabled webhook)", name)
	}
	body, _ := json.Marshal(commandPayload{Event: "command", WebhookID: hook.ID, BotID: bot.ID,
		ConversationID: in.ConversationID, UserID: actor.UserID, Command: name, Text: in.Text})
	text, err := a.callBot(ctx, *hook, body)
	if err != nil {
		a.log.Info("slash command failed", "webhook_id", hook.ID, "command", name, "err", err)
		return nil, &parley.Error{Code: parley.CodeUnavailable, Message: "@" + name + " did not answer: " + err.Error()}
	}
	if text == "" {
		return nil, nil
	}
	m, _, err := a.SendMessage(ctx, parley.Actor{UserID: bot.ID, Role: parley.UserRoleUser, Org: bot.Org},
		SendMessageInput{ConversationID: in.ConversationID, ClientMsgID: parley.NewID(), Body: text})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// callBot POSTs a command to the bot's webhook and returns the answer's text.
func (a *App) callBot(ctx context.Context, h parley.OutgoingWebhook, body []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.hooks.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhook/1")
	req.Header.Set("X-Parley-Event", "command")
	req.Header.Set("X-Parley-Delivery", parley.NewID())
	req.Header.Set("X-Parley-Signature", Sign(h.Secret, a.now(), body))
	resp, err := a.hooks.client.Do(req) // #nosec G704 -- the bot owner's webhook URL; non-public addresses are refused at dial time
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", &httpStatusError{resp.StatusCode}
	}
	var out struct {
		Text string `json:"text"`
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "", nil
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	return out.Text, nil
}

type httpStatusError struct{ status int }

func (e *httpStatusError) Error() string { return "HTTP " + http.StatusText(e.status) }
