// Package parley holds Parley's domain vocabulary: the types every other
// package speaks (User, Session, Conversation, Member, Message, Event), their
// validation, the Error type with its stable codes, and the small interfaces
// the application needs from its dependencies (Store, Bus).
//
// This package imports the standard library only. Everything else in the
// module points inward to it; see ../shared/DESIGN.md and docs/architecture.md.
package parley
