package apitest

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Watchdog ends the test binary with exit code 2 if it is still running
// after d, printing every goroutine's stack and then, last (so a log that
// keeps only its tail still shows it), the stacks that pass through a
// _test.go file or this package (a server shutdown in a cleanup): the line
// each stuck test is waiting on. It replaces
// `go test -timeout`'s dump, whose useful part is at the top. Call stop when
// the tests are done.
func Watchdog(d time.Duration) (stop func()) {
	t := time.AfterFunc(d, func() {
		buf := make([]byte, 64<<20)
		buf = buf[:runtime.Stack(buf, true)]
		fmt.Fprintf(os.Stderr, "\nwatchdog: tests still running after %s; all goroutines:\n%s\n", d, buf)
		fmt.Fprintf(os.Stderr, "\nwatchdog: goroutines in test code (still running after %s):\n", d)
		for _, g := range bytes.Split(buf, []byte("\n\n")) {
			if s := string(g); strings.Contains(s, "_test.go:") || strings.Contains(s, "/internal/apitest/") {
				fmt.Fprintf(os.Stderr, "%s\n\n", g)
			}
		}
		os.Exit(2)
	})
	return func() { t.Stop() }
}
