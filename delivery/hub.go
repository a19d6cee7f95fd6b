package delivery

import "sync"

// hub wakes up the requests waiting for new messages in a group (long polls
// and event streams). A waiter takes the group's channel before reading the
// store, so an append that commits after the read closes a channel the
// waiter already holds: no wake-up is lost.
type hub struct {
	mu     sync.Mutex
	groups map[string]*waitSet
}

type waitSet struct {
	ch chan struct{} // closed by notify
	n  int           // waiters holding ch
}

func newHub() *hub { return &hub{groups: make(map[string]*waitSet)} }

// subscribe returns a channel closed at the group's next notification and
// a function to call when done waiting.
func (h *hub) subscribe(groupID []byte) (<-chan struct{}, func()) {
	key := string(groupID)
	h.mu.Lock()
	defer h.mu.Unlock()
	ws := h.groups[key]
	if ws == nil {
		ws = &waitSet{ch: make(chan struct{})}
		h.groups[key] = ws
	}
	ws.n++
	return ws.ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		ws.n--
		if ws.n == 0 && h.groups[key] == ws {
			delete(h.groups, key)
		}
	}
}

// notify wakes up every waiter of the group, or of every group if groupID
// is nil.
func (h *hub) notify(groupID []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if groupID == nil {
		for key, ws := range h.groups {
			close(ws.ch)
			delete(h.groups, key)
		}
		return
	}
	if ws := h.groups[string(groupID)]; ws != nil {
		close(ws.ch)
		delete(h.groups, string(groupID))
	}
}
