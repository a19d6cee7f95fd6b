package message

import (
	"fmt"
	"testing"

	"github.com/mlsengine/engine/mls/keyschedule"
	"github.com/mlsengine/engine/mls/suite"
)

// BenchmarkPrivateMessage measures protecting and unprotecting a 100-byte
// application message (signature, AEAD and sender data included) in each
// suite. Each iteration uses the next generation of the sender's ratchet.
func BenchmarkPrivateMessage(b *testing.B) {
	for _, id := range suite.IDs() {
		g := newTestGroup(b, id)
		fc := g.content(MemberSender(1), ContentApplication)
		name := fmt.Sprintf("%d", uint16(id))
		maxGen := keyschedule.Config{MaxForwardDistance: 1 << 30, MaxRetainedKeys: -1}

		b.Run("Protect/"+name, func(b *testing.B) {
			tree, err := keyschedule.NewSecretTree(g.s, g.encryption, 4, keyschedule.Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ac, err := SignContent(g.s, g.signers[1], WireFormatPrivateMessage, fc, g.gcBytes)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ProtectPrivate(g.s, ac, tree, g.senderData, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})

		b.Run("Unprotect/"+name, func(b *testing.B) {
			// Protect the messages up front, then unprotect them in order.
			send, err := keyschedule.NewSecretTree(g.s, g.encryption, 4, keyschedule.Config{})
			if err != nil {
				b.Fatal(err)
			}
			recv, err := keyschedule.NewSecretTree(g.s, g.encryption, 4, maxGen)
			if err != nil {
				b.Fatal(err)
			}
			ac, err := SignContent(g.s, g.signers[1], WireFormatPrivateMessage, fc, g.gcBytes)
			if err != nil {
				b.Fatal(err)
			}
			var msgs []*PrivateMessage
			next := func() *PrivateMessage {
				pm, err := ProtectPrivate(g.s, ac, send, g.senderData, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				return pm
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == len(msgs) {
					b.StopTimer()
					for range 256 {
						msgs = append(msgs, next())
					}
					b.StartTimer()
				}
				if _, err := UnprotectPrivate(g.s, msgs[i], g.gcBytes, recv, g.senderData, g.lookup); err != nil {
					b.Fatal(err)
				}
				msgs[i] = nil
				i++
			}
		})
	}
}
