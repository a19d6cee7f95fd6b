package treekem

// cowTable is a two-level table of block pointers shared copy-on-write
// between clones: cloning copies only the top level (one pointer per
// midSize blocks), and the first write through a shared middle block copies
// that block (midSize pointers). The writer's owner, which tells which
// middle blocks it may write in place, is the store's.
type cowTable[T any] struct {
	top []*midBlock[T]
	n   int // number of blocks
}

const (
	midBits = 7
	midSize = 1 << midBits
)

type midBlock[T any] struct {
	owner *owner
	c     [midSize]*T
}

func (t *cowTable[T]) len() int { return t.n }

func (t *cowTable[T]) get(i int) *T { return t.top[i>>midBits].c[i&(midSize-1)] }

// set stores p as block i for the writer o, copying i's middle block first
// if o does not own it.
func (t *cowTable[T]) set(i int, p *T, o *owner) {
	m := t.top[i>>midBits]
	if m.owner != o {
		cp := *m
		cp.owner = o
		m = &cp
		t.top[i>>midBits] = m
	}
	m.c[i&(midSize-1)] = p
}

// append adds block p at the end.
func (t *cowTable[T]) append(p *T, o *owner) {
	if t.n>>midBits == len(t.top) {
		t.top = append(t.top, &midBlock[T]{owner: o})
	}
	t.n++
	t.set(t.n-1, p, o)
}

// ownMids copies every middle block o does not own, so that blocks may
// then be replaced concurrently (distinct blocks from distinct goroutines).
func (t *cowTable[T]) ownMids(o *owner) {
	for i := range t.top {
		if t.top[i].owner != o {
			cp := *t.top[i]
			cp.owner = o
			t.top[i] = &cp
		}
	}
}

// clone returns a table sharing every block with t. Both writers must have
// new owners, so that they copy a middle block before writing to it.
func (t *cowTable[T]) clone() cowTable[T] {
	return cowTable[T]{top: append([]*midBlock[T](nil), t.top...), n: t.n}
}
