package bench

import (
	"sync/atomic"
	"testing"
)

// The resync accounting follows docs/protocol.md "Resync" step 3: have only
// advances over contiguous seqs, duplicates are dropped and counted, and a
// message beyond a gap waits until the gap is filled.
func TestResyncApply(t *testing.T) {
	var dups, gaps atomic.Int64
	c := &conn{seqs: seqMap{}}
	c.seqs.set("a", 3)
	s := newResyncState(c, &dups, &gaps)
	steps := []struct {
		seq      int64
		new      bool
		have     int64
		want     int64 // wantLocked with last_seq 4
		dupsSeen int64
	}{
		{seq: 3, new: false, have: 3, want: 4, dupsSeen: 1}, // already held
		{seq: 6, new: true, have: 3, want: 5, dupsSeen: 1},  // live beyond a gap: held aside
		{seq: 6, new: false, have: 3, want: 5, dupsSeen: 2}, // the same again
		{seq: 4, new: true, have: 4, want: 5, dupsSeen: 2},  // fills the first hole
		{seq: 5, new: true, have: 6, want: 4, dupsSeen: 2},  // fills the gap: 6 is absorbed
		{seq: 7, new: true, have: 7, want: 4, dupsSeen: 2},
		{seq: 5, new: false, have: 7, want: 4, dupsSeen: 3},
	}
	for i, st := range steps {
		if got := s.applyLocked(c, "a", st.seq); got != st.new {
			t.Errorf("step %d: seq %d new = %v, want %v", i, st.seq, got, st.new)
		}
		if h := c.seqs.get("a"); h != st.have {
			t.Errorf("step %d: have = %d, want %d", i, h, st.have)
		}
		if w := s.wantLocked("a", 4); w != st.want {
			t.Errorf("step %d: want = %d, want %d", i, w, st.want)
		}
		if d := dups.Load(); d != st.dupsSeen {
			t.Errorf("step %d: duplicates = %d, want %d", i, d, st.dupsSeen)
		}
	}
	if len(s.pending) != 0 {
		t.Errorf("pending left: %v", s.pending)
	}
}

func TestResyncHistoryFrame(t *testing.T) {
	var dups, gaps atomic.Int64
	r := &runner{errCodes: map[string]int64{}}
	c := &conn{seqs: seqMap{}}
	c.seqs.set("c1", 1)
	c.rs = newResyncState(c, &dups, &gaps)
	b := appendHistoryFrame(nil, "rs1", "c1", 1, 100)
	if string(b) != `{"type":"history","ref":"rs1","conversation_id":"c1","after":1,"limit":100}` {
		t.Fatalf("request %s", b)
	}
	f, ok := parseFrame([]byte(`{"type":"history","ref":"rs1","conversation_id":"c1","messages":[` +
		`{"conversation_id":"c1","seq":2,"body":"x"},{"conversation_id":"c1","seq":3,"body":"y"},{"conversation_id":"c1","seq":5,"body":"z"}]}`))
	if !ok || f.Type != "history" {
		t.Fatalf("parse: %+v %v", f, ok)
	}
	r.onFrame(c, f, 0)
	a := <-c.rs.answers
	if a.err != nil || a.conv != "c1" || a.added != 3 || gaps.Load() != 1 || c.seqs.get("c1") != 3 {
		t.Errorf("answer %+v, gaps %d, have %d", a, gaps.Load(), c.seqs.get("c1"))
	}
	f, _ = parseFrame([]byte(`{"type":"error","ref":"rs2","error":{"code":"not_found","message":"no"}}`))
	r.onFrame(c, f, 0)
	if a := <-c.rs.answers; a.err == nil {
		t.Error("an error answer to a history request was not handed to the resync")
	}
}
