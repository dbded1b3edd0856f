package bench

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// waitDropSeen waits, at most d, until the server's open-connection gauge
// (parley_ws_connections on /metrics) has fallen to zero: the server has
// noticed every dropped socket and released it, so the reconnect that
// follows is timed on its own rather than overlapping the teardown of the
// old connections. It returns how long it waited and whether the gauge was
// seen at zero (false also when the server has no /metrics).
func (r *runner) waitDropSeen(ctx context.Context, d time.Duration) (time.Duration, bool) {
	t0 := time.Now()
	for time.Since(t0) < d && ctx.Err() == nil {
		n, ok := r.openConnections(ctx)
		if !ok {
			return time.Since(t0), false
		}
		if n == 0 {
			return time.Since(t0), true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(t0), false
}

// openConnections reads parley_ws_connections from the server's /metrics.
func (r *runner) openConnections(ctx context.Context) (float64, bool) {
	req, err := http.NewRequestWithContext(ctx, "GET", r.rest.base+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	resp, err := r.rest.hc.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "parley_ws_connections "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return n, err == nil
		}
	}
	return 0, false
}
