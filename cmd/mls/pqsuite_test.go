package main

import (
	"strings"
	"testing"
)

// TestClientPQSuite drives a group of the largest post-quantum suite,
// ML-KEM-1024 with ML-DSA-87, through `mls ds serve`: the suite is chosen by
// name and by number.
func TestClientPQSuite(t *testing.T) {
	url := "http://" + startDS(t, "127.0.0.1:0", "memory:").addr
	alice, bob, carol := newMLSClient(t, "alice", url), newMLSClient(t, "bob", url), newMLSClient(t, "carol", url)
	const name = "MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87"
	fingerprint := "CA fingerprint: " + caFingerprint(t, url)
	alice.expect([]string{"init", "alice", "--suite", strings.ToLower(name)}, "initialized alice ("+name+") in "+alice.dir, fingerprint)
	bob.expect([]string{"init", "bob", "--suite", "0xF10B"}, "initialized bob ("+name+") in "+bob.dir, fingerprint)
	carol.expect([]string{"init", "carol", "--suite", "61707"}, "initialized carol ("+name+") in "+carol.dir, fingerprint)
	alice.ok("create", "team")
	alice.expect([]string{"add", "team", "bob", "carol"}, "team: alice added bob", "team: alice added carol")
	bob.expect([]string{"join"}, "joined team")
	carol.expect([]string{"join"}, "joined team")
	alice.ok("send", "team", "hello")
	bob.ok("send", "team", "hi")
	alice.expect([]string{"recv"}, "team bob: hi")
	bob.expect([]string{"recv"}, "team alice: hello")
	carol.expect([]string{"update", "team"}, "team: carol updated")
	alice.expect([]string{"recv"}, "team: carol updated")
	alice.expect([]string{"remove", "team", "bob"}, "team: alice removed bob")
	carol.expect([]string{"recv"}, "team alice: hello", "team bob: hi", "team: alice removed bob")
	bob.expect([]string{"recv"}, "team: carol updated", "team: alice removed you")
	agree(t, "team", []string{"alice", "carol"}, alice, carol)
}
