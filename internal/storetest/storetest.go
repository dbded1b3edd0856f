// Package storetest is the conformance suite every parley.Store
// implementation runs: one suite, one run per implementation (SQLite,
// PostgreSQL). Each test gets a fresh, empty store from the Opener.
package storetest

import (
	"testing"

	"github.com/parley-chat/parley"
)

// Opener returns a fresh, empty, migrated store for one test and arranges
// (with t.Cleanup) for it to be closed and removed afterwards.
type Opener func(t *testing.T) parley.Store

// Run runs the whole suite against the implementation behind open.
func Run(t *testing.T, open Opener) {
	t.Run("users", func(t *testing.T) { testUsers(t, open) })
	t.Run("sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("conversations", func(t *testing.T) { testConversations(t, open) })
	t.Run("messages", func(t *testing.T) { testMessages(t, open) })
	t.Run("receipts", func(t *testing.T) { testReceipts(t, open) })
	t.Run("attachments", func(t *testing.T) { testAttachments(t, open) })
	t.Run("operator", func(t *testing.T) { testOperator(t, open) })
	t.Run("search", func(t *testing.T) { testSearch(t, open) })
	t.Run("contacts", func(t *testing.T) { testContacts(t, open) })
	t.Run("scram", func(t *testing.T) { testScram(t, open) })
	t.Run("positions", func(t *testing.T) { testPositions(t, open) })
	t.Run("calls", func(t *testing.T) { testCalls(t, open) })
	t.Run("moderation", func(t *testing.T) { testModeration(t, open) })
	t.Run("notify", func(t *testing.T) { testNotify(t, open) })
	t.Run("push", func(t *testing.T) { testPush(t, open) })
	t.Run("email", func(t *testing.T) { testEmail(t, open) })
	t.Run("phone", func(t *testing.T) { testPhone(t, open) })
	t.Run("two_factor", func(t *testing.T) { testTwoFactor(t, open) })
	t.Run("app_passwords", func(t *testing.T) { testAppPasswords(t, open) })
	t.Run("bots", func(t *testing.T) { testBots(t, open) })
	t.Run("outgoing_webhooks", func(t *testing.T) { testOutgoingWebhooks(t, open) })
	t.Run("export", func(t *testing.T) { testExport(t, open) })
	t.Run("retention", func(t *testing.T) { testRetention(t, open) })
	t.Run("organisations", func(t *testing.T) { testOrganisations(t, open) })
	t.Run("e2ee", func(t *testing.T) { testE2EE(t, open) })
}
