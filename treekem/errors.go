package treekem

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (or an error of a lower package: wire.ErrDecode, wire.ErrEncode, a suite
// error), and its message starts with "treekem: ".
var (
	// ErrMalformedTree reports a ratchet tree whose shape or contents
	// contradict RFC 9420 (§12.4.3.3, §7.1): a wrong node type at a
	// position, a trailing blank node, badly formed unmerged leaves, a key
	// of the wrong size. See NodeError.
	ErrMalformedTree = errors.New("treekem: malformed ratchet tree")
	// ErrInvalidLeafNode reports a LeafNode that fails a check of §7.3.
	// See LeafNodeError.
	ErrInvalidLeafNode = errors.New("treekem: invalid leaf node")
	// ErrDuplicateKey reports an encryption or signature key that already
	// appears in the tree (§7.3, §12.4.2).
	ErrDuplicateKey = errors.New("treekem: duplicate public key")
	// ErrParentHash reports a parent hash that does not verify (§7.9.2).
	ErrParentHash = errors.New("treekem: invalid parent hash")
	// ErrTreeHash reports a tree hash that differs from the expected one.
	ErrTreeHash = errors.New("treekem: tree hash mismatch")
	// ErrNoLeaf reports a leaf index that is out of range or blank where a
	// member is required.
	ErrNoLeaf = errors.New("treekem: no such member")
	// ErrInvalidPath reports an UpdatePath that does not fit the tree: the
	// wrong number of nodes or ciphertexts, a malformed or reused key, or a
	// derived public key that differs from the one sent (§7.6, §12.4.2).
	ErrInvalidPath = errors.New("treekem: invalid update path")
	// ErrNoPrivateKey reports that a member holds no private key with which
	// to decrypt an UpdatePath, or a private state that does not match the
	// tree.
	ErrNoPrivateKey = errors.New("treekem: no usable private key")
	// ErrDecrypt reports a path secret that does not decrypt.
	ErrDecrypt = errors.New("treekem: path secret decryption failed")
	// ErrCredential reports a credential rejected by the application's
	// CredentialValidator, or one that cannot be checked for want of one.
	ErrCredential = errors.New("treekem: credential rejected")
	// ErrInvalidArgument reports an argument the caller should not have
	// passed (a nil suite or signer, a signer whose key is not the leaf's).
	ErrInvalidArgument = errors.New("treekem: invalid argument")
	// ErrInternal reports a bug in this package.
	ErrInternal = errors.New("treekem: internal error")
)

var errEncode = errors.New("treekem: cannot encode")

var errUnknownCredential = fmt.Errorf("treekem: cannot encode a credential of unknown type: %w", errEncode)

// NodeError locates a failure at a node of the tree.
type NodeError struct {
	Node   NodeIndex
	Reason string
	Err    error // a sentinel of this package, or a lower-level cause
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("treekem: node %d: %s", e.Node, e.Reason)
}

// Unwrap returns the underlying error.
func (e *NodeError) Unwrap() error { return e.Err }

func nodeErr(x NodeIndex, sentinel error, format string, args ...any) error {
	return &NodeError{Node: x, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

// LeafNodeError reports which check of §7.3 a LeafNode failed. It matches
// ErrInvalidLeafNode (or ErrDuplicateKey, ErrCredential for those checks)
// and its cause.
type LeafNodeError struct {
	Leaf  LeafIndex // the leaf the LeafNode is (or would be) at
	Check string    // the failed check, e.g. "signature"
	Err   error     // the cause, if any
}

func (e *LeafNodeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("treekem: invalid leaf node at leaf %d: %s", e.Leaf, e.Check)
	}
	return fmt.Sprintf("treekem: invalid leaf node at leaf %d: %s: %v", e.Leaf, e.Check, e.Err)
}

// Unwrap makes errors.Is(err, ErrInvalidLeafNode) true, as well as
// errors.Is for the cause.
func (e *LeafNodeError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidLeafNode}
	}
	return []error{ErrInvalidLeafNode, e.Err}
}

func leafErr(i LeafIndex, check string, cause error) error {
	return &LeafNodeError{Leaf: i, Check: check, Err: cause}
}

func internalErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInternal, fmt.Sprintf(format, args...))
}
