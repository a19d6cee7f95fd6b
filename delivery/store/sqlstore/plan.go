package sqlstore

import (
	"github.com/mlsengine/engine/delivery/store"
)

// A batch is run set-based, with the same outcome as running its requests
// one after another: one transaction locks the rows of the batch's groups
// (in group id order) and reads them and the duplicates among the batch's
// messages in two statements; the outcome of every request is then decided
// here, in Go, from what was read; and the transaction writes every new
// message, group row and Welcome queue entry with one statement per table
// (PostgreSQL: one statement in all) and commits.

// groupRow is a group's row as a batch read it, and as its plan leaves it.
type groupRow struct {
	key     int64
	epoch   uint64
	lastSeq uint64

	changed bool   // the plan appended to the group
	setInfo bool   // a commit won an epoch: group_info becomes info
	info    []byte // the winning commit's GroupInfo (nil clears it)
}

// messageRow is a message the plan appends.
type messageRow struct {
	gkey, seq   int64
	r           *appendReq
	welcomeData []byte
}

// welcomeRow queues a commit's Welcome for a recipient.
type welcomeRow struct {
	client    string
	gkey, seq int64
}

// batchWrite is what a batch writes.
type batchWrite struct {
	messages []messageRow
	groups   []*groupRow // changed, in group id order
	welcomes []welcomeRow
	notify   [][]byte // the groups appended to, each once
}

func (w *batchWrite) empty() bool { return len(w.messages) == 0 }

// batchRead is what a batch reads with its groups locked: the rows of its
// groups that exist, by group id, and, if read (non-nil), the logged
// position of every request (by index) whose bytes are already in its
// group's log.
type batchRead struct {
	groups map[string]*groupRow
	dups   map[int]store.Appended
}

// batchPlan is the outcome of planning a batch.
type batchPlan struct {
	write batchWrite
	// alone are the requests for groups that do not exist (yet): a commit
	// for epoch 0 creates its group, so they run one by one, in order,
	// after the batch.
	alone []*appendReq
	// stale are the requests refused for an ended epoch, whose
	// *EpochError is told the commit that ended it once the batch is
	// durable.
	stale []staleReq
}

// staleReq is a request refused for an ended epoch of the group with key
// gkey.
type staleReq struct {
	r    *appendReq
	gkey int64
}

// plan decides the outcome of every request of reqs (sorted by group id,
// without twins) from what the batch read, in order, exactly as apply would
// one after another: a duplicate gets its original position; a message for
// an epoch other than its group's current one an *EpochError; any other
// message the group's next sequence number, and a commit also the next
// epoch and its group's GroupInfo. It sets r.out and r.err. It returns nil
// if it needs the duplicates and read has none: a message for another
// epoch may be a retry of a logged one.
func plan(reqs []*appendReq, read batchRead) *batchPlan {
	p := new(batchPlan)
	groups := make(map[string]*groupRow, len(read.groups)) // copies, which the plan advances
	for i, r := range reqs {
		g := groups[string(r.groupID)]
		if g == nil {
			row := read.groups[string(r.groupID)]
			if row == nil {
				p.alone = append(p.alone, r)
				continue
			}
			g = new(groupRow)
			*g = *row
			groups[string(r.groupID)] = g
		}
		if d, ok := read.dups[i]; ok {
			r.out, r.err = d, nil
			r.out.Duplicate = true
			continue
		}
		if r.m.Epoch != g.epoch {
			if read.dups == nil {
				return nil
			}
			r.out, r.err = store.Appended{}, &store.EpochError{Epoch: r.m.Epoch, Current: g.epoch}
			if r.m.Epoch < g.epoch {
				p.stale = append(p.stale, staleReq{r: r, gkey: g.key})
			}
			continue
		}
		g.lastSeq++
		row := messageRow{gkey: g.key, seq: int64(g.lastSeq), r: r}
		if r.c != nil {
			g.epoch++
			g.setInfo, g.info = true, r.c.GroupInfo
			row.welcomeData = r.c.Welcome
			for _, name := range r.c.Recipients {
				p.write.welcomes = append(p.write.welcomes, welcomeRow{client: name, gkey: g.key, seq: row.seq})
			}
		}
		p.write.messages = append(p.write.messages, row)
		if !g.changed {
			g.changed = true
			p.write.groups = append(p.write.groups, g)
			p.write.notify = append(p.write.notify, r.groupID)
		}
		r.out, r.err = store.Appended{Seq: g.lastSeq, Epoch: r.m.Epoch}, nil
	}
	return p
}
