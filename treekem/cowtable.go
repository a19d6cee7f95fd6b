package treekem

// cowTable is a two-level table of chunk pointers shared copy-on-write
// between clones: cloning copies only the top level (one pointer per
// midSize chunks), and the first write through a shared middle block copies
// that block (midSize pointers). With 64-node chunks, a tree of a million
// leaves has 256 top-level entries.
type cowTable[T any] struct {
	top   []*midBlock[T]
	n     int // number of chunks
	owner *owner
}

const (
	midBits = 7
	midSize = 1 << midBits
)

type midBlock[T any] struct {
	owner *owner
	c     [midSize]*T
}

func newCowTable[T any]() cowTable[T] { return cowTable[T]{owner: new(owner)} }

func (t *cowTable[T]) len() int { return t.n }

func (t *cowTable[T]) get(i int) *T { return t.top[i>>midBits].c[i&(midSize-1)] }

// set stores p as chunk i, copying i's middle block first if it is shared.
func (t *cowTable[T]) set(i int, p *T) {
	m := t.top[i>>midBits]
	if m.owner != t.owner {
		cp := *m
		cp.owner = t.owner
		m = &cp
		t.top[i>>midBits] = m
	}
	m.c[i&(midSize-1)] = p
}

// append adds chunk p at the end.
func (t *cowTable[T]) append(p *T) {
	if t.n>>midBits == len(t.top) {
		t.top = append(t.top, &midBlock[T]{owner: t.owner})
	}
	t.n++
	t.set(t.n-1, p)
}

// ownMids copies every shared middle block, so that chunks may then be
// replaced concurrently (distinct chunks from distinct goroutines).
func (t *cowTable[T]) ownMids() {
	for i := range t.top {
		if t.top[i].owner != t.owner {
			cp := *t.top[i]
			cp.owner = t.owner
			t.top[i] = &cp
		}
	}
}

// clone returns a table sharing every block with t; both copy a block
// before their next write to it.
func (t *cowTable[T]) clone() cowTable[T] {
	t.owner = new(owner)
	return cowTable[T]{top: append([]*midBlock[T](nil), t.top...), n: t.n, owner: new(owner)}
}
