package server

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	rev := "309c82b1a2b3c4d5e6f708192a3b4c5d6e7f8091"
	info := func(main string, modified string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/parley-chat/parley", Version: main}}
		if modified != "" {
			bi.Settings = []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-12-06T20:00:00Z"},
				{Key: "vcs.modified", Value: modified}}
		}
		return bi
	}
	cases := []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{nil, "devel"},
		{info("(devel)", ""), "devel"},
		{info("", ""), "devel"},
		{info("(devel)", "false"), "devel+309c82b1a2b3"},
		{info("(devel)", "true"), "devel+309c82b1a2b3.dirty"},
		{info("v1.2.3", "false"), "v1.2.3+309c82b1a2b3"},
		{info("v0.0.0-20261206200000-309c82b1a2b3", "false"), "v0.0.0-20261206200000-309c82b1a2b3"},
		{info("v0.0.0-20261206200000-309c82b1a2b3+dirty", "true"), "v0.0.0-20261206200000-309c82b1a2b3+dirty"},
		{info("v1.2.3", ""), "v1.2.3"},
	}
	for _, c := range cases {
		if got := BuildVersion(c.bi); got != c.want {
			main := "<nil>"
			if c.bi != nil {
				main = c.bi.Main.Version
			}
			t.Errorf("BuildVersion(%s, %v) = %q, want %q", main, c.bi != nil && len(c.bi.Settings) > 0, got, c.want)
		}
	}
	text := VersionText("v1.2.3", info("(devel)", "true"))
	for _, want := range []string{"parley v1.2.3\n", "commit " + rev, "2026-12-06T20:00:00Z", "uncommitted changes", "go1.26.8"} {
		if !strings.Contains(text, want) {
			t.Errorf("VersionText lacks %q:\n%s", want, text)
		}
	}
	if Version == "" || Version == "dev" {
		t.Errorf("Version = %q; want one derived from the build information", Version)
	}
}
