package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/mls"
)

// Join accepts every Welcome pending for the client at the delivery
// service, oldest first, and returns the local names of the groups joined.
// A group is listed under the name in its ExtensionGroupName (the
// creator's name for it); if the client already uses that name for another
// group it gets a suffix (-2, -3, ...), and a group without a valid name is
// listed as group-HEX (the first bytes of its id). A Welcome that cannot be
// used (not for any KeyPackage of this client, invalid, for a group the
// client is in already) is deleted and reported as a warning. After joining,
// the KeyPackages used are replaced at the delivery service. Join also
// looks after the last-resort KeyPackage (see lastresort.go): it rotates
// one that was used or is old, updates the client's leaf in groups joined
// with it, and deletes retired ones past Options.LastResortGrace.
func (a *Agent) Join(ctx context.Context) (joined []string, warnings []Event, err error) {
	for {
		w, err := a.ds.NextWelcome(ctx)
		if err != nil {
			return joined, warnings, dsErr("fetching Welcomes", err)
		}
		if w == nil {
			break
		}
		name, warn, err := a.joinOne(ctx, w)
		if err != nil {
			return joined, warnings, err
		}
		if warn != nil {
			warnings = append(warnings, *warn)
		} else if name != "" {
			joined = append(joined, name)
		}
		if err := a.ds.DeleteWelcome(ctx, w.ID); err != nil {
			return joined, warnings, dsErr("deleting a processed Welcome", err)
		}
	}
	lr, err := a.readLastResort()
	if err != nil {
		return joined, warnings, err
	}
	if len(joined) > 0 || a.rotationDue(lr) {
		if err := a.topUp(ctx); err != nil {
			return joined, warnings, err
		}
	}
	warnings = append(warnings, a.refreshLeaves(ctx)...)
	// No Welcome is pending: retired last-resort KeyPackages past their
	// grace period are no longer needed.
	return joined, warnings, a.deleteRetired()
}

// refreshLeaves commits an update of the client's leaf in every group
// marked with RefreshLeaf: joined with its last-resort KeyPackage (RFC 9750
// §5.1: a client that joined with it updates its leaf keys as early as
// possible), or where its leaf carries the certificate it renewed (RFC 9420
// §5.3.1). A group where that fails gets a warning, and another try at the
// next Join.
func (a *Agent) refreshLeaves(ctx context.Context) []Event {
	recs, err := a.st.records()
	if err != nil {
		return []Event{{Kind: EventWarning, Text: fmt.Sprintf("updating leaves: %v", err)}}
	}
	sortRecords(recs)
	var warnings []Event
	for _, r := range recs {
		if !r.RefreshLeaf || r.Status != StatusActive {
			continue
		}
		s, err := a.openSynced(ctx, r.Name)
		if err == nil {
			_, err = a.update(ctx, s)
		}
		if err != nil {
			warnings = append(warnings, Event{Kind: EventWarning, Group: r.Name,
				Text: fmt.Sprintf("could not update this client's leaf (joined with the last-resort KeyPackage, or the certificate was renewed): run 'mls client update %s': %v", r.Name, err)})
		}
	}
	return warnings
}

// joinOne joins with one Welcome, with the tree of its epoch from the
// delivery service (which mls.Join checks against the Welcome's tree hash:
// the service is not trusted with it), and saves the group, before the
// Welcome is deleted at the delivery service and the KeyPackage's private
// part here: a crash in between finds the group joined and the Welcome is
// just deleted again. It returns the group's local name, or a warning for
// a Welcome that cannot be used (deleted, so that it never blocks later
// ones); an error (the state directory's, or the delivery service out of
// reach) stops Join, and the Welcome is tried again by the next one.
func (a *Agent) joinOne(ctx context.Context, w *delivery.PendingWelcome) (name string, warning *Event, err error) {
	warn := func(group, format string, args ...any) (string, *Event, error) {
		return "", &Event{Kind: EventWarning, Group: group, Seq: w.Seq, Text: fmt.Sprintf(format, args...)}, nil
	}
	recs, err := a.st.records()
	if err != nil {
		return "", nil, err
	}
	var prev *groupRecord
	for _, r := range recs {
		if string(r.GroupID) == string(w.GroupID) {
			prev = r
		}
	}
	if prev != nil && prev.Status == StatusActive {
		if prev.JoinSeq == w.Seq {
			return prev.Name, nil, nil // joined before a crash; the Welcome was not deleted
		}
		return warn(prev.Name, "ignored a Welcome to the group: already a member")
	}
	tree, err := a.ds.TreeAt(ctx, w.GroupID, w.Epoch)
	if err != nil && (transient(err) || errors.Is(err, delivery.ErrUnauthorized)) {
		return "", nil, dsErr("fetching the tree of a group joined", err)
	}
	if err != nil {
		return warn(fallbackName(w.GroupID), "ignored a Welcome: the delivery service serves no tree for it: %v", err)
	}
	js := &joinStorage{DirStorage: a.st}
	g, err := mls.JoinWithStorage(a.cfg, js, w.Welcome, &mls.JoinOptions{RatchetTree: tree})
	if js.lastResort {
		// Handed out and used, whether or not the join works: rotate it.
		if err := a.markLastResortUsed(js.used); err != nil {
			return "", nil, err
		}
	}
	if err != nil {
		if unusableWelcome(err) {
			return warn(fallbackName(w.GroupID), "ignored a Welcome: %v", err)
		}
		return "", nil, wrapErr(ErrState, "joining", err)
	}
	if string(g.GroupID()) != string(w.GroupID) {
		return warn(fallbackName(w.GroupID), "ignored a Welcome: it is for group %x", g.GroupID())
	}
	want, ok := g.Extensions().Find(ExtensionGroupName)
	if !ok || !validName(string(want)) {
		want = []byte(fallbackName(g.GroupID()))
	}
	name = freeName(recs, string(want), g.GroupID())
	if prev != nil {
		name = prev.Name // joined again after being removed or leaving
	}
	if err := a.dropInactive(recs, name); err != nil {
		return "", nil, err
	}
	rec := &groupRecord{Version: recordVersion, Name: name, GroupID: g.GroupID(), Cursor: w.Seq, JoinSeq: w.Seq, RefreshLeaf: js.lastResort}
	if prev != nil {
		rec.Inbox = prev.Inbox // unread events of the earlier membership
	}
	if err := a.save(&session{rec: rec, g: g}); err != nil {
		return "", nil, err
	}
	if js.used != nil && !js.lastResort {
		if err := a.st.deleteKeyPackage(js.used); err != nil {
			return "", nil, err
		}
	}
	return name, nil, nil
}

// unusableWelcome reports whether a join failed because of the Welcome
// (which will never work) rather than the local state: anything but a
// failure of the state directory, a KeyPackage it does not hold being the
// Welcome's fault.
func unusableWelcome(err error) bool {
	return !errors.Is(err, ErrState) || errors.Is(err, mls.ErrNotFound)
}

// joinStorage is the Storage mls.JoinWithStorage works on during Join: it
// reads the KeyPackage's private part without deleting it and keeps the new
// group's state in memory, so that Join saves the group record first and
// deletes the KeyPackage only then (a crash in between leaves both, and
// the Welcome can be processed again).
type joinStorage struct {
	*DirStorage
	used       []byte // the ref of the KeyPackage read
	lastResort bool
}

func (j *joinStorage) TakeKeyPackage(ref []byte) ([]byte, error) {
	data, err := j.readKeyPackage(ref)
	if err != nil {
		return nil, err
	}
	var k mls.KeyPackagePrivate
	if err := k.UnmarshalBinary(data); err == nil {
		j.lastResort = k.LastResort
		k.Wipe()
	}
	j.used = slices.Clone(ref)
	return data, nil
}

// PutKeyPackage is called to put back what TakeKeyPackage took, which
// joinStorage never deleted.
func (j *joinStorage) PutKeyPackage(ref, private []byte) error { return nil }

// SaveGroup drops the state: Join saves the group with its record.
func (j *joinStorage) SaveGroup(groupID, state []byte) error { return nil }
