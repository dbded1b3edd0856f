package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/parley-chat/parley"
)

// Bots (docs/bots.md). A bot program uses a Client with a token from
// CreateAPIToken: client.New(url, client.WithToken(token)) — or SetToken —
// and the endpoints its scopes allow (Conversations, Messages, Send, …).

// CreateBot makes a bot owned by the signed-in person.
func (c *Client) CreateBot(ctx context.Context, username, displayName string) (parley.User, error) {
	var u parley.User
	in := map[string]string{"username": username}
	if displayName != "" {
		in["display_name"] = displayName
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/bots", nil, in, &u)
	return u, err
}

// Bots lists the signed-in person's bots.
func (c *Client) Bots(ctx context.Context) ([]parley.User, error) {
	var out struct {
		Bots []parley.User `json:"bots"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/bots", nil, nil, &out)
	return out.Bots, err
}

// DeleteBot deletes one of the signed-in person's bots.
func (c *Client) DeleteBot(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/bots/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// DisableBot disables one of the signed-in person's bots (its tokens,
// webhooks and slash command stop) and returns it.
func (c *Client) DisableBot(ctx context.Context, id string) (parley.User, error) {
	var u parley.User
	_, err := c.do(ctx, http.MethodPost, "/api/v1/bots/"+url.PathEscape(id)+"/disable", nil, nil, &u)
	return u, err
}

// EnableBot re-enables a bot its owner disabled (a bot a server admin
// disabled answers CodeForbidden).
func (c *Client) EnableBot(ctx context.Context, id string) (parley.User, error) {
	var u parley.User
	_, err := c.do(ctx, http.MethodPost, "/api/v1/bots/"+url.PathEscape(id)+"/enable", nil, nil, &u)
	return u, err
}

// CreateAPIToken makes a token for a bot with the given scopes and returns
// it with its secret (the bearer token), shown this once.
func (c *Client) CreateAPIToken(ctx context.Context, botID, name string, scopes ...parley.Scope) (parley.APIToken, string, error) {
	var out struct {
		Token  parley.APIToken `json:"token"`
		Secret string          `json:"secret"`
	}
	in := map[string]any{"name": name, "scopes": scopes}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/bots/"+url.PathEscape(botID)+"/tokens", nil, in, &out)
	return out.Token, out.Secret, err
}

// APITokens lists a bot's tokens.
func (c *Client) APITokens(ctx context.Context, botID string) ([]parley.APIToken, error) {
	var out struct {
		Tokens []parley.APIToken `json:"tokens"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/bots/"+url.PathEscape(botID)+"/tokens", nil, nil, &out)
	return out.Tokens, err
}

// RevokeAPIToken deletes a bot's token.
func (c *Client) RevokeAPIToken(ctx context.Context, botID, tokenID string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/bots/"+url.PathEscape(botID)+"/tokens/"+url.PathEscape(tokenID), nil, nil, nil)
	return err
}

// CreateIncomingWebhook makes a secret URL (a path under the server) that
// posts into conversationID as the bot.
func (c *Client) CreateIncomingWebhook(ctx context.Context, botID, conversationID string) (parley.IncomingWebhook, string, error) {
	var out struct {
		Webhook parley.IncomingWebhook `json:"webhook"`
		URL     string                 `json:"url"`
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/bots/"+url.PathEscape(botID)+"/incoming-webhooks", nil,
		map[string]string{"conversation_id": conversationID}, &out)
	return out.Webhook, out.URL, err
}

// IncomingWebhooks lists a bot's incoming webhooks.
func (c *Client) IncomingWebhooks(ctx context.Context, botID string) ([]parley.IncomingWebhook, error) {
	var out struct {
		Webhooks []parley.IncomingWebhook `json:"webhooks"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/bots/"+url.PathEscape(botID)+"/incoming-webhooks", nil, nil, &out)
	return out.Webhooks, err
}

// DeleteIncomingWebhook deletes one of a bot's incoming webhooks.
func (c *Client) DeleteIncomingWebhook(ctx context.Context, botID, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/bots/"+url.PathEscape(botID)+"/incoming-webhooks/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// PostWebhook posts text through an incoming webhook's URL path (as
// CreateIncomingWebhook returned it); no token is needed or sent.
func (c *Client) PostWebhook(ctx context.Context, path, text string) (parley.Message, error) {
	var m parley.Message
	nc := &Client{base: c.base, http: c.http, ua: c.ua}
	_, err := nc.do(ctx, http.MethodPost, path, nil, map[string]string{"text": text}, &m)
	return m, err
}

// CreateOutgoingWebhook adds a webhook to a bot and returns it with its
// signing secret (shown once).
func (c *Client) CreateOutgoingWebhook(ctx context.Context, botID, target string) (parley.OutgoingWebhook, string, error) {
	var out struct {
		Webhook parley.OutgoingWebhook `json:"webhook"`
		Secret  string                 `json:"secret"`
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/bots/"+url.PathEscape(botID)+"/outgoing-webhooks", nil,
		map[string]string{"url": target}, &out)
	return out.Webhook, out.Secret, err
}

// OutgoingWebhooks lists a bot's outgoing webhooks.
func (c *Client) OutgoingWebhooks(ctx context.Context, botID string) ([]parley.OutgoingWebhook, error) {
	var out struct {
		Webhooks []parley.OutgoingWebhook `json:"webhooks"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/bots/"+url.PathEscape(botID)+"/outgoing-webhooks", nil, nil, &out)
	return out.Webhooks, err
}

// DeleteOutgoingWebhook deletes one of a bot's outgoing webhooks.
func (c *Client) DeleteOutgoingWebhook(ctx context.Context, botID, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/bots/"+url.PathEscape(botID)+"/outgoing-webhooks/"+url.PathEscape(id), nil, nil, nil)
	return err
}

// EnableOutgoingWebhook re-enables an outgoing webhook that failures
// disabled, with its failure count back at 0.
func (c *Client) EnableOutgoingWebhook(ctx context.Context, botID, id string) (parley.OutgoingWebhook, error) {
	var w parley.OutgoingWebhook
	_, err := c.do(ctx, http.MethodPost, "/api/v1/bots/"+url.PathEscape(botID)+"/outgoing-webhooks/"+url.PathEscape(id)+"/enable", nil, nil, &w)
	return w, err
}

// WebhookDeliveries returns an outgoing webhook's delivery log, newest first.
func (c *Client) WebhookDeliveries(ctx context.Context, botID, id string) ([]parley.WebhookDelivery, error) {
	var out struct {
		Deliveries []parley.WebhookDelivery `json:"deliveries"`
	}
	_, err := c.do(ctx, http.MethodGet, "/api/v1/bots/"+url.PathEscape(botID)+"/outgoing-webhooks/"+url.PathEscape(id)+"/deliveries", nil, nil, &out)
	return out.Deliveries, err
}

// RunCommand runs the slash command "/command text" in a conversation and
// returns the bot's answer as posted (nil if it answered with no text).
func (c *Client) RunCommand(ctx context.Context, conversationID, command, text string) (*parley.Message, error) {
	var out struct {
		Message *parley.Message `json:"message"`
	}
	_, err := c.do(ctx, http.MethodPost, convPath(conversationID, "commands"), nil,
		map[string]string{"command": command, "text": text}, &out)
	return out.Message, err
}
