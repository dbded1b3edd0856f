package storetest

import "testing"

func testConversations(t *testing.T, open Opener) {
	t.Helper()
}
