package storetest

import "testing"

func testMessages(t *testing.T, open Opener) {
	t.Helper()
}
