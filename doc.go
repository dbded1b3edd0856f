// Package parley holds Parley's domain vocabulary: the types every other
// package speaks (User, Session, Conversation, Member, Message, Event), their
// validation, the Error type with its stable codes and their one HTTP
// status / close code table, the small interfaces the application needs
// from its dependencies (Store, Bus), and the rules a store applies inside
// its transaction (admit.go, membership.go), written once for every store.
//
// This package imports the standard library only. Everything else in the
// module points inward to it; see docs/architecture.md.
package parley
