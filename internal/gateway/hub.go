package gateway

import "sync"

// nShards spreads the hub's maps over independent locks so that routing
// (read locks) and connects/disconnects (write locks) on different keys
// never contend. A power of two.
const nShards = 64

// hub indexes this node's connections: topic (a conversation id, or a
// parley.PresenceTopic) → subscribed connections, user id → that user's
// authenticated connections, and every open connection. Each key lives in
// the shard its hash picks; there is no global lock.
//
// Lock order: Conn.subMu → shard.mu → Conn.mu. Callbacks of the each*
// methods run under the shard's read lock and may take Conn.mu only (not
// subMu, not another shard: collect the connections first for those).
type hub struct {
	shards [nShards]shard
}

type shard struct {
	mu     sync.RWMutex
	topics map[string]map[*Conn]struct{}
	users  map[string]map[*Conn]struct{}
	all    map[*Conn]struct{}
	_      [64]byte // keep neighbouring shards' locks off one cache line
}

func (h *hub) init() {
	for i := range h.shards {
		s := &h.shards[i]
		s.topics = map[string]map[*Conn]struct{}{}
		s.users = map[string]map[*Conn]struct{}{}
		s.all = map[*Conn]struct{}{}
	}
}

// shardOf hashes key with FNV-1a.
func (h *hub) shardOf(key string) *shard {
	x := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		x ^= uint32(key[i])
		x *= 16777619
	}
	return &h.shards[x&(nShards-1)]
}

func (h *hub) shardOfConn(c *Conn) *shard { return &h.shards[c.id&(nShards-1)] }

func add(m map[string]map[*Conn]struct{}, key string, c *Conn) bool {
	set := m[key]
	if set == nil {
		set = map[*Conn]struct{}{}
		m[key] = set
	}
	if _, ok := set[c]; ok {
		return false
	}
	set[c] = struct{}{}
	return true
}

func remove(m map[string]map[*Conn]struct{}, key string, c *Conn) {
	set := m[key]
	if set == nil {
		return
	}
	delete(set, c)
	if len(set) == 0 {
		delete(m, key)
	}
}

func (h *hub) addConn(c *Conn) {
	s := h.shardOfConn(c)
	s.mu.Lock()
	s.all[c] = struct{}{}
	s.mu.Unlock()
}

func (h *hub) removeConn(c *Conn) {
	s := h.shardOfConn(c)
	s.mu.Lock()
	delete(s.all, c)
	s.mu.Unlock()
}

func (h *hub) addUser(c *Conn) {
	s := h.shardOf(c.actor.UserID)
	s.mu.Lock()
	add(s.users, c.actor.UserID, c)
	s.mu.Unlock()
}

func (h *hub) removeUser(c *Conn) {
	s := h.shardOf(c.actor.UserID)
	s.mu.Lock()
	remove(s.users, c.actor.UserID, c)
	s.mu.Unlock()
}

func (h *hub) addTopic(key string, c *Conn) bool {
	s := h.shardOf(key)
	s.mu.Lock()
	ok := add(s.topics, key, c)
	s.mu.Unlock()
	return ok
}

func (h *hub) removeTopic(key string, c *Conn) {
	s := h.shardOf(key)
	s.mu.Lock()
	remove(s.topics, key, c)
	s.mu.Unlock()
}

// eachOfTopic calls fn for every connection subscribed to key.
func (h *hub) eachOfTopic(key string, fn func(*Conn)) {
	s := h.shardOf(key)
	s.mu.RLock()
	for c := range s.topics[key] {
		fn(c)
	}
	s.mu.RUnlock()
}

// eachOfUser calls fn for every authenticated connection of userID.
func (h *hub) eachOfUser(userID string, fn func(*Conn)) {
	s := h.shardOf(userID)
	s.mu.RLock()
	for c := range s.users[userID] {
		fn(c)
	}
	s.mu.RUnlock()
}

// each calls fn for every open connection, one shard at a time.
func (h *hub) each(fn func(*Conn)) {
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.RLock()
		for c := range s.all {
			fn(c)
		}
		s.mu.RUnlock()
	}
}

// topicSize returns the number of connections subscribed to key.
func (h *hub) topicSize(key string) int {
	s := h.shardOf(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.topics[key])
}
