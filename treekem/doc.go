// Package treekem implements the ratchet tree of RFC 9420 (MLS): its wire
// types (LeafNode, ParentNode, UpdatePath and the ratchet_tree encoding),
// the public tree with its tree and parent hashes (§7.8, §7.9), leaf and
// tree validation (§7.3, §12.4.3.1), the operations of proposals (§12.1),
// and the creation and processing of UpdatePaths (§7.4-§7.6, §12.4.2).
//
// Use it from the group state machine: it knows nothing of epochs, key
// schedules or framing, and takes what it needs from above as arguments
// (the serialized provisional GroupContext, the group id, leaf indexes).
//
// # Public and private state
//
// A [Tree] is the public state every member shares; a [PrivateState] is one
// member's private keys (its leaf and part of its direct path). Keeping
// them apart lets one public tree serve many simulated members.
//
//   - Join: [UnmarshalTree] (structure, unmerged leaves, key uniqueness),
//     then [Tree.Validate] (parent hashes and every leaf's signature and
//     capabilities, on all cores), and compare [Tree.TreeHash] with the
//     GroupInfo. Build the joiner's [PrivateState] with [NewPrivateState]
//     and [PrivateState.ImplantPathSecret].
//   - Proposals: [Tree.ValidateLeaf] for the LeafNode of an Add, Update or
//     UpdatePath, then [Tree.UpdateLeaf], [Tree.RemoveLeaf], [Tree.AddLeaf]
//     in the order of §12.3.
//   - Commit with a path: [Tree.PrepareUpdatePath], read [Tree.TreeHash] to
//     build the provisional GroupContext, then [PendingPath.Encrypt]; the
//     Welcome's path secrets come from [PendingPath.PathSecretFor].
//   - Process a commit: [Tree.MergeUpdatePath], [Tree.TreeHash], then
//     [PrivateState.DecryptPath].
//   - Snapshot: [Tree.RatchetTree] and [UnmarshalTree] (a trusted snapshot
//     need not be validated again), [PrivateState.MarshalBinary] and
//     [UnmarshalPrivateState].
//
// # Staging
//
// Every change happens in place, so stage a commit on a [Tree.Clone]: the
// clone shares the tree's storage copy-on-write. The node array and the key
// indexes are kept in chunks of 64 nodes or 256 index slots, reached
// through two-level tables of chunk pointers; Clone copies the top level
// (n/8192 pointers: 256 for a million members) and a write copies one
// chunk and one 128-pointer block. Staging a commit thus costs O(log n)
// small copies, and the original tree is unchanged until the caller
// replaces it with the clone. DecryptPath likewise returns a new
// PrivateState. Operations check everything before changing anything, so a
// failed operation leaves its tree unchanged.
//
// # Scale
//
// Nodes are stored as their encodings (what the tree hash covers) in a
// compact array: about 450 bytes per member for suite 0x0001. Each node
// caches its tree hash; a change marks only its ancestors stale, so a
// commit rehashes O(log n) nodes. Per-node counts of non-blank leaves and
// nodes give the filtered direct path, the leftmost free leaf and truncation
// in O(log n) and let resolutions skip blank subtrees. Public keys are
// indexed for the uniqueness checks of §7.3, and member capabilities are
// counted for the group-wide capability checks. Hashing a whole tree and
// validating a received tree run on all cores.
//
// Hashing a subtree that the tree grows into costs O(size) once (the blank
// leaves' hashes depend on their indexes); the hashes of blank nodes dropped
// by truncation are kept, so shrinking and regrowing costs O(log n).
package treekem
