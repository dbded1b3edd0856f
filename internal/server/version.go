package server

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Version is this build's version, as the start-up line, /api/v1 and
// `parley version` report it. A release build may set it with
// -ldflags "-X github.com/parley-chat/parley/internal/server.Version=v1.2.3";
// otherwise it comes from the build information the go command records
// (BuildVersion).
var Version string

func init() {
	if Version == "" {
		bi, _ := debug.ReadBuildInfo()
		Version = BuildVersion(bi)
	}
}

// BuildInfo is what the go command recorded about the build of a binary.
type BuildInfo struct {
	Module    string // the main module's version: a tag (v1.2.3), a pseudo-version, or "devel"
	Revision  string // VCS commit, "" when the build was not made from a checkout
	Time      string // commit time (RFC 3339), "" when unknown
	Modified  bool   // the checkout had uncommitted changes
	GoVersion string
}

// ReadBuild decodes bi (nil when the binary carries no build information).
func ReadBuild(bi *debug.BuildInfo) BuildInfo {
	b := BuildInfo{Module: "devel"}
	if bi == nil {
		return b
	}
	b.GoVersion = bi.GoVersion
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Module = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// BuildVersion returns the version string of a build: the module version
// when it is a tag or pseudo-version (which already names the commit, and
// since Go 1.24 ends in "+dirty" for a modified checkout); otherwise
// "devel+<revision>" with ".dirty" for a modified checkout; "devel" when
// nothing was recorded (go run, or a build outside a checkout).
func BuildVersion(bi *debug.BuildInfo) string {
	b := ReadBuild(bi)
	v := b.Module
	short := b.Revision
	if len(short) > 12 {
		short = short[:12]
	}
	if short != "" && !strings.Contains(v, short) {
		v += "+" + short
		if b.Modified {
			v += ".dirty"
		}
	} else if b.Modified && !strings.Contains(v, "dirty") {
		v += "+dirty"
	}
	return v
}

// VersionText is what `parley version` prints: the version, then the
// commit, its time and whether the checkout was modified, and the Go
// release, each when known.
func VersionText(version string, bi *debug.BuildInfo) string {
	b := ReadBuild(bi)
	var sb strings.Builder
	fmt.Fprintf(&sb, "parley %s\n", version)
	if b.Revision != "" {
		fmt.Fprintf(&sb, "commit %s", b.Revision)
		if b.Time != "" {
			fmt.Fprintf(&sb, " (%s)", b.Time)
		}
		if b.Modified {
			sb.WriteString(", with uncommitted changes")
		}
		sb.WriteString("\n")
	}
	if b.GoVersion != "" {
		fmt.Fprintf(&sb, "built with %s\n", b.GoVersion)
	}
	return sb.String()
}
