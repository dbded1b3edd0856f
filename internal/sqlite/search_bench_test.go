package sqlite

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley"
)

// The search benchmark corpus: 1,000,000 messages in 10,000 conversations
// of 1,000 users (each user in about 40 conversations, so about 4 % of the
// corpus is theirs). Bodies are 4–16 words drawn from a 20,000-word
// vocabulary with a Zipf distribution (s = 1.1), one message in 20 in
// Japanese. The database is built once into $TMPDIR/parley-search-bench-v2
// (a few minutes) and reused by later runs; delete it to rebuild.
const (
	benchMessages = 1_000_000
	benchConvs    = 10_000
	benchUsers    = 1_000
	benchVocab    = 20_000
	benchPerConv  = 4 // members per conversation
)

var benchSyllables = strings.Fields("ka ri to ne mo sa lu vi de pa zo qui fen gar bel dor mis tan ro ek ul im os")

var benchJapanese = []string{"東京", "会議", "資料", "明日", "確認", "お願い", "します", "予定", "変更", "ありがとう"}

func benchWord(i int) string {
	var b strings.Builder
	for {
		b.WriteString(benchSyllables[i%len(benchSyllables)])
		i /= len(benchSyllables)
		if i == 0 {
			return b.String()
		}
	}
}

func benchBody(r *rand.Rand, z *rand.Zipf) string {
	if r.IntN(20) == 0 {
		var b strings.Builder
		for range 3 + r.IntN(5) {
			b.WriteString(benchJapanese[r.IntN(len(benchJapanese))])
		}
		return b.String()
	}
	words := make([]string, 4+r.IntN(13))
	for i := range words {
		words[i] = benchWord(int(z.Uint64()))
	}
	return strings.Join(words, " ")
}

// openSearchCorpus opens (building it first if needed) the benchmark
// database and returns the store and, per user, its id.
func openSearchCorpus(b *testing.B) (*Store, []string) {
	dir := filepath.Join(os.TempDir(), "parley-search-bench-v4")
	users := make([]string, benchUsers)
	for i := range users {
		users[i] = fmt.Sprintf("%026d", i)
	}
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		_ = os.RemoveAll(dir)
		start := time.Now()
		s, err := Open(context.Background(), dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := buildSearchCorpus(s, users); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600); err != nil {
			b.Fatal(err)
		}
		b.Logf("built the 1M-message corpus in %v", time.Since(start).Round(time.Second))
	}
	s, err := Open(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s, users
}

func buildSearchCorpus(s *Store, users []string) error {
	ctx := context.Background()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i, id := range users {
		if _, err := tx.Exec(`INSERT INTO users (id, username, display_name, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, 'x', ?, ?)`, id, fmt.Sprintf("user%d", i), fmt.Sprintf("User %d", i), at, at); err != nil {
			return err
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	convs := make([]string, benchConvs)
	for i := range convs {
		convs[i] = fmt.Sprintf("c%025d", i)
		if _, err := tx.Exec(`INSERT INTO conversations (num, id, kind, created_by, created_at, updated_at, member_count)
			VALUES (?, ?, 'group', ?, ?, ?, ?)`, i+1, convs[i], users[0], at, at, benchPerConv); err != nil {
			return err
		}
		seen := map[int]bool{}
		for len(seen) < benchPerConv {
			u := r.IntN(len(users))
			if seen[u] {
				continue
			}
			seen[u] = true
			if _, err := tx.Exec(`INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)`,
				convs[i], users[u], at); err != nil {
				return err
			}
		}
	}
	ins, err := tx.Prepare(`INSERT INTO messages (conv, seq, id, sender_id, client_msg_id, kind, body, created_at)
		VALUES (?, ?, ?, ?, ?, 'user', ?, ?)`)
	if err != nil {
		return err
	}
	z := rand.NewZipf(r, 1.1, 1, benchVocab-1)
	seqs := make([]int64, benchConvs)
	for i := range benchMessages {
		c := r.IntN(benchConvs)
		seqs[c]++
		id := fmt.Sprintf("m%025d", i)
		if _, err := ins.Exec(c+1, seqs[c], id, users[r.IntN(len(users))], id, benchBody(r, z), at+int64(i)*1000); err != nil {
			return err
		}
	}
	for c, seq := range seqs {
		if _, err := tx.Exec(`INSERT INTO conversation_heads (num, last_seq, last_at) VALUES (?, ?, ?)`,
			c+1, seq, at+benchMessages*1000); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.stopIndexer()
	if _, err := s.ixw.Exec(`REPLACE INTO ix.messages_fts (rowid, body) SELECT rid, body FROM messages WHERE kind = 'user';
		UPDATE ix.search_index_state SET indexed_rid = (SELECT max(rid) FROM messages),
			applied_seq = (SELECT coalesce(max(seq), 0) FROM search_changes);
		INSERT INTO ix.messages_fts (messages_fts) VALUES ('optimize')`); err != nil {
		return err
	}
	_, err = s.write.Exec(`ANALYZE`)
	return err
}

// BenchmarkSearch1M measures message search on the 1M-message corpus: each
// iteration is one query of a random user for a random mix (one word drawn
// from the Zipf distribution, so common words dominate; two words; a word
// and a from: filter; a Japanese word; a rare word), first page of 20,
// newest first. Reported: p50 and p99 latency over the iterations.
func BenchmarkSearch1M(b *testing.B) {
	s, users := openSearchCorpus(b)
	warmPageCache(b)
	ctx := context.Background()
	for _, order := range []parley.SearchOrder{parley.SearchRecent, parley.SearchRelevance} {
		b.Run(string(order), func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 4))
			z := rand.NewZipf(r, 1.1, 1, benchVocab-1)
			var lat, cpu []time.Duration
			for b.Loop() {
				q := parley.MessageSearch{UserID: users[r.IntN(len(users))], Order: order, Limit: 20}
				switch r.IntN(5) {
				case 0:
					q.Terms = []string{benchWord(int(z.Uint64()))}
				case 1:
					q.Terms = []string{benchWord(int(z.Uint64())), benchWord(int(z.Uint64()))}
				case 2:
					q.Terms = []string{benchWord(int(z.Uint64()))}
					q.SenderID = users[r.IntN(len(users))]
				case 3:
					q.Terms = []string{benchJapanese[r.IntN(len(benchJapanese))]}
				case 4:
					q.Terms = []string{benchWord(1000 + r.IntN(benchVocab-1000))}
				}
				c0, start := cpuTime(), time.Now()
				if _, _, err := s.SearchMessages(ctx, q); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				cpu = append(cpu, cpuTime()-c0)
			}
			report(b, lat, cpu)
		})
	}
}

// BenchmarkSearch1MScan measures the queries the trigram index cannot
// serve, on the same corpus: only words shorter than three characters, or
// only filters (from: a user, has:link). They scan the caller's messages
// newest first until a page is full.
func BenchmarkSearch1MScan(b *testing.B) {
	s, users := openSearchCorpus(b)
	warmPageCache(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	var lat, cpu []time.Duration
	for b.Loop() {
		q := parley.MessageSearch{UserID: users[r.IntN(len(users))], Order: parley.SearchRecent, Limit: 20}
		switch r.IntN(3) {
		case 0:
			q.Terms = []string{benchSyllables[r.IntN(len(benchSyllables))]}
		case 1:
			q.SenderID = users[r.IntN(len(users))]
		case 2:
			q.Has = []parley.SearchHas{parley.HasLink}
		}
		c0, start := cpuTime(), time.Now()
		if _, _, err := s.SearchMessages(ctx, q); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		cpu = append(cpu, cpuTime()-c0)
	}
	report(b, lat, cpu)
}

// warmPageCache reads the database file once, so that the figures are those
// of a server whose database is in the OS page cache (a running server's
// usual state; the first queries after a cold boot are slower).
func warmPageCache(b *testing.B) {
	f, err := os.Open(filepath.Join(os.TempDir(), "parley-search-bench-v4", FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(io.Discard, f); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the process's user+system CPU time so far. The benchmark loops
// run one query at a time, so the difference around a query is its CPU cost
// (plus a little runtime background work): the latency it would have on an
// idle core, whatever else runs on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report reports wall-clock and CPU latency percentiles in milliseconds.
func report(b *testing.B, lat, cpu []time.Duration) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	slices.Sort(lat)
	slices.Sort(cpu)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50_ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99_ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max_ms")
	b.ReportMetric(ms(cpu[len(cpu)/2]), "cpu_p50_ms")
	b.ReportMetric(ms(cpu[len(cpu)*99/100]), "cpu_p99_ms")
}
