package mls

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestRandomOperations runs random sequences of operations on a group of
// 3 to 10 members and checks, after every commit, that all members agree;
// application messages are delivered in a random order, some late; members
// are saved and reloaded at random.
func TestRandomOperations(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 99))
			encrypt := seed%2 == 0
			tweak := func(c *Config) { c.EncryptHandshake = encrypt; c.PastEpochs = 2 }
			w := newWorld(t, 3+rnd.IntN(3), tweak)
			type pending struct {
				to    int
				msg   []byte
				txt   string
				epoch uint64
			}
			var inflight []pending
			next := 0
			for step := range 40 {
				members := w.members()
				pick := func() int { return members[rnd.IntN(len(members))] }
				switch op := rnd.IntN(10); {
				case op < 3: // application messages, delivered later
					s := pick()
					if len(w.groups[s].PendingProposals()) > 0 {
						continue
					}
					txt := fmt.Sprint("step ", step)
					m, err := w.groups[s].Encrypt([]byte(txt), nil)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range members {
						if r != s {
							inflight = append(inflight, pending{r, m, txt, w.groups[s].Epoch()})
						}
					}
				case op < 5: // deliver some in-flight messages, in any order
					rnd.Shuffle(len(inflight), func(i, j int) { inflight[i], inflight[j] = inflight[j], inflight[i] })
					k := rnd.IntN(len(inflight) + 1)
					for _, p := range inflight[:k] {
						if w.groups[p.to] == nil {
							continue
						}
						r, err := w.groups[p.to].Process(p.msg)
						if w.groups[p.to].Epoch() > p.epoch+2 {
							if !errors.Is(err, ErrWrongEpoch) {
								t.Fatalf("step %d: message of an epoch no longer kept: %v", step, err)
							}
							continue
						}
						if err != nil {
							t.Fatalf("step %d: late message: %v", step, err)
						}
						if string(r.ApplicationData) != p.txt {
							t.Fatal("wrong data")
						}
					}
					inflight = inflight[k:]
				case op < 7: // a proposal
					s := pick()
					var msg []byte
					var err error
					switch rnd.IntN(3) {
					case 0:
						msg, err = w.groups[s].ProposeUpdate(nil)
					case 1:
						if len(members) > 3 {
							v := pick()
							msg, err = w.groups[s].Propose(NewRemove(w.groups[v].LeafIndex()), nil)
						}
					case 2:
						next++
						c := newClient(t, fmt.Sprint("new-", next))
						tweak(&c.cfg)
						kp, _ := c.keyPackage(t) // never joins: its leaf just sits there
						add, _ := NewAdd(kp)
						msg, err = w.groups[s].Propose(add, nil)
					}
					if err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
					if msg != nil {
						w.deliver(s, msg)
					}
				case op < 9: // a commit, sometimes adding a member
					s := pick()
					var props []*Proposal
					var joiner *client
					var priv *KeyPackagePrivate
					if len(members) < 10 && rnd.IntN(2) == 0 {
						next++
						joiner = newClient(t, fmt.Sprint("joiner-", next))
						tweak(&joiner.cfg)
						var kp []byte
						kp, priv = joiner.keyPackage(t)
						add, _ := NewAdd(kp)
						props = append(props, add)
					}
					pc := w.commit(s, &CommitOptions{Proposals: props})
					if joiner != nil {
						g, err := Join(joiner.cfg, pc.Welcome, priv, nil)
						if err != nil {
							t.Fatal(err)
						}
						w.clients, w.groups = append(w.clients, joiner), append(w.groups, g)
					}
					w.agree()
				default: // save and reload a member
					s := pick()
					g, err := UnmarshalGroup(w.clients[s].cfg, mustSnapshot(t, w.groups[s]))
					if err != nil {
						t.Fatal(err)
					}
					w.groups[s] = g
				}
			}
		})
	}
}
