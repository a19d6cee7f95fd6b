// Package sim simulates a large MLS group with the library's own code
// path, to measure what each operation costs as the group grows (the
// engine of `mls sim`).
//
// Simulating n full clients would cost n times every commit; Run keeps one
// public view of the group instead, and derives every simulated member's
// keys from a seed, so that any member can be made to commit or be removed.
// A few observed members hold full private state: they join through real
// Welcome messages, process every commit, and must agree with the committer
// on the epoch authenticator at every epoch.
//
// A run has four phases:
//
//  1. Build: a creator makes the group with mls.NewGroup and adds the other
//     members through real Add commits (many Adds per commit, no path), each
//     member with a real signed KeyPackage whose keys come from the seed.
//  2. Shape (skipped with Options.Bare): the tree is brought to the steady
//     state of a group in real use, as if every member had committed once
//     (treekem.Tree.SteadyState: parent keys from the seed, valid parent
//     hashes, leaves re-signed), and the group restarts on it
//     (mls.GroupFromTree). Copath resolutions then mostly have one node;
//     without shaping, the first commits encrypt to up to n-1 leaves.
//  3. Observers: random simulated members add the observers one commit at a
//     time (no path); each joins with its Welcome and the tree passed out of
//     band, validating the whole tree. In the steady state each then
//     commits once.
//  4. Epochs: in each, a member drawn by Options.Committers (uniformly,
//     or by a Zipf law over the members ranked by when they joined)
//     commits a self-update (an empty commit, with a full path), an Add or
//     a Remove of a random simulated member, drawn with the weights of
//     Options.Mix (equal by default), through mls.Group.Commit on its view
//     of the group (mls.ViewAs), with the library's defaults: every
//     commit carries a path (RFC 9420 §12.4).
//     Every observer processes it with mls.Group.Process; then a random
//     observer sends an application message that every other observer
//     decrypts. A Remove blanks the removed member's direct path below the
//     committer's, so later paths whose copath crosses those nodes encrypt
//     to their resolutions: more than one node each. The measured groups
//     drift from the steady state that way, as real ones do.
//
// Each commit is timed around mls.Group.Commit (create) and around
// mls.Group.Process and Apply at each observer (process), in wall-clock time
// and in the CPU time the process spent on the call on all its threads,
// which a busy machine does not inflate. (The library spreads the HPKE
// operations of an UpdatePath over GOMAXPROCS goroutines, so a commit's
// wall-clock time may be below its CPU time.) Each update is compared with
// its crypto floor, depth × (one HPKE seal + one DeriveKeyPair), timed
// right after it on one goroutine.
//
// With Options.DS the run goes through a delivery service in this process
// (package delivery, on a loopback listener): from the observers' joins
// on, every commit is posted with its Welcome and GroupInfo and validated,
// ordered and stored by the service before its committer applies it,
// observers fetch what they process and join with the tree the service
// serves, and application messages go through it too; Result.DS reports
// the bytes and the service's time per commit (see ds.go for what is real
// and what is a shortcut).
//
// Sweep runs the same options at several group sizes, one Result each
// (the rows of `mls sim --sizes`); WriteSweepTable and WriteCSV write
// them.
//
// Everything is deterministic from Options.Seed (ChaCha8 streams), except
// the signatures of the ECDSA suites, which draw their own randomness,
// and, through a delivery service, the group id and a part of the
// members' names (so that runs can share a store).
// Nothing in an epoch is O(n) apart from what the library does (a
// copy-on-write clone of the tree's chunk tables, O(n/256)); the
// simulator's own bookkeeping is O(changes): a member's keys are derived
// again from the seed when it commits.
package sim
