package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/treekem"
)

// Every operation on a group first catches up with the group's log (so that
// it works in the group's current epoch); the events of what it processed
// go to the group's inbox, which Receive reports. An operation returns the
// events of its own commits.

// CreateOptions are the options of Create.
type CreateOptions struct {
	// Open lets anyone who can reach the delivery service join the group
	// by external commit (Rejoin), and Admit the clients named; by default
	// only members added by a member are in the group, and a member's
	// external commit is only a resync of its own leaf. The choice travels
	// in the group's delivery.ExtensionAdmission, which every member and
	// the delivery service apply.
	Open  bool
	Admit []string
}

// Create creates a group named name whose only member is the client, with a
// random MLS group id, and registers it with the delivery service, which
// tracks it from its initial state. The name travels in the group's
// ExtensionGroupName, so members list the group under it.
func (a *Agent) Create(ctx context.Context, name string, opts *CreateOptions) error {
	if err := checkName("group name", name); err != nil {
		return err
	}
	if opts == nil {
		opts = &CreateOptions{}
	}
	exts := treekem.Extensions{{Type: ExtensionGroupName, Data: []byte(name)}}
	if opts.Open || len(opts.Admit) > 0 {
		for _, n := range opts.Admit {
			if err := checkName("client name", n); err != nil {
				return err
			}
		}
		adm := delivery.Admission{Open: opts.Open, Identities: opts.Admit}
		ext, err := adm.Extension()
		if err != nil {
			return wrapErr(ErrInvalidArgument, "admission", err)
		}
		exts = append(exts, ext)
	}
	recs, err := a.st.records()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Name == name && r.Status == StatusActive {
			return errorf(ErrGroupExists, "%s", name)
		}
	}
	g, err := mls.NewGroup(a.cfg, &mls.GroupOptions{Extensions: exts})
	if err != nil {
		return wrapErr(ErrCommit, "creating "+name, err)
	}
	// The group's initial state: the GroupInfo of epoch 0 (with its
	// one-leaf tree), which the service tracks the group from and serves
	// for resyncs (Rejoin), as every commit's GroupInfo afterwards.
	gi, err := g.GroupInfo(&mls.GroupInfoOptions{RatchetTree: true})
	if err != nil {
		return wrapErr(ErrCommit, "creating "+name, err)
	}
	if _, err := a.ds.CreateGroup(ctx, g.GroupID(), &delivery.GroupSetup{GroupInfo: gi}); err != nil {
		return dsErr("creating "+name, err)
	}
	if err := a.dropInactive(recs, name); err != nil {
		return err
	}
	return a.save(&session{rec: &groupRecord{Version: recordVersion, Name: name, GroupID: g.GroupID()}, g: g})
}

// dropInactive deletes the records of groups named name that the client is
// no longer in, as a new group takes the name.
func (a *Agent) dropInactive(recs []*groupRecord, name string) error {
	for _, r := range recs {
		if r.Name == name && r.Status != StatusActive && !r.Leaving {
			if err := a.st.deleteRecord(r.GroupID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Add adds the clients names to the group: it claims a KeyPackage of each
// (checking that its credential is the name's), commits Add proposals for
// them, with the proposals pending in the group, and posts the commit with
// its Welcome for them and the new epoch's GroupInfo.
func (a *Agent) Add(ctx context.Context, group string, names ...string) ([]Event, error) {
	if len(names) == 0 {
		return nil, errorf(ErrInvalidArgument, "add: no client named")
	}
	for i, n := range names {
		if err := checkName("client name", n); err != nil {
			return nil, err
		}
		if slices.Contains(names[:i], n) {
			return nil, errorf(ErrInvalidArgument, "add: %s named twice", n)
		}
	}
	s, err := a.openSynced(ctx, group)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if len(findMembers(s.g, n)) > 0 {
			return nil, errorf(ErrMember, "%s is already a member of %s", n, group)
		}
	}
	kps := make([][]byte, len(names))
	for i, n := range names {
		if kps[i], err = a.claim(ctx, n, s.g.CipherSuite()); err != nil {
			return nil, err
		}
	}
	return a.commit(ctx, s, func() (*mls.PendingCommit, []string, error) {
		var props []*mls.Proposal
		var recipients []string
		for i, n := range names {
			if len(findMembers(s.g, n)) > 0 {
				continue // added by a concurrent commit
			}
			p, err := mls.NewAdd(kps[i])
			if err != nil {
				return nil, nil, err
			}
			props, recipients = append(props, p), append(recipients, n)
		}
		if len(props) == 0 {
			return nil, nil, nil
		}
		pc, err := s.g.Commit(commitOptions(mls.CommitOptions{Proposals: props}))
		return pc, recipients, err
	})
}

// Remove removes the clients names from the group, committing Remove
// proposals for them with the proposals pending in the group. To remove
// itself, a client uses Leave.
func (a *Agent) Remove(ctx context.Context, group string, names ...string) ([]Event, error) {
	if len(names) == 0 {
		return nil, errorf(ErrInvalidArgument, "remove: no client named")
	}
	if slices.Contains(names, a.id.Name) {
		return nil, errorf(ErrInvalidArgument, "remove: a client cannot remove itself; use leave")
	}
	s, err := a.openSynced(ctx, group)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if len(findMembers(s.g, n)) == 0 {
			return nil, errorf(ErrMember, "%s is not a member of %s", clean(n), group)
		}
	}
	return a.commit(ctx, s, func() (*mls.PendingCommit, []string, error) {
		var props []*mls.Proposal
		for _, n := range names {
			for _, leaf := range findMembers(s.g, n) { // none if removed concurrently
				props = append(props, mls.NewRemove(leaf))
			}
		}
		if len(props) == 0 {
			return nil, nil, nil
		}
		pc, err := s.g.Commit(commitOptions(mls.CommitOptions{Proposals: props}))
		return pc, nil, err
	})
}

// Update refreshes the client's keys in the group with a commit carrying
// a path (RFC 9420 §12.4), covering the proposals pending in the group.
func (a *Agent) Update(ctx context.Context, group string) ([]Event, error) {
	s, err := a.openSynced(ctx, group)
	if err != nil {
		return nil, err
	}
	return a.update(ctx, s)
}

// update commits the update of the client's leaf in the caught-up group s.
func (a *Agent) update(ctx context.Context, s *session) ([]Event, error) {
	events, err := a.commit(ctx, s, func() (*mls.PendingCommit, []string, error) {
		pc, err := s.g.Commit(commitOptions(mls.CommitOptions{}))
		return pc, nil, err
	})
	if err != nil {
		return nil, err
	}
	if s.rec.RefreshLeaf {
		s.rec.RefreshLeaf = false
		if err := a.save(s); err != nil {
			return nil, err
		}
	}
	if !slices.ContainsFunc(events, func(e Event) bool { return e.Kind == EventUpdated && e.Member == a.id.Name }) {
		events = append(events, Event{Kind: EventUpdated, Group: s.rec.Name, Member: a.id.Name, Epoch: s.g.Epoch()})
	}
	return events, nil
}

// Send encrypts text for the group and posts it. Proposals pending in the
// group are committed first (RFC 9420 §12.4: a member that has observed
// proposals commits before sending application data); the events of that
// commit are returned. If the group moved to a new epoch before the message
// was posted, the client catches up and sends once more.
func (a *Agent) Send(ctx context.Context, group, text string) ([]Event, error) {
	if text == "" {
		return nil, errorf(ErrInvalidArgument, "send: empty message")
	}
	s, err := a.openActive(ctx, group)
	if err != nil {
		return nil, err
	}
	var events []Event
	for attempt := 1; ; attempt++ {
		if err := a.syncActive(ctx, s); err != nil {
			return events, err
		}
		ev, err := a.commitPending(ctx, s)
		events = append(events, ev...)
		if err != nil {
			return events, err
		}
		msg, err := s.g.Encrypt([]byte(text), nil)
		if err != nil {
			return events, wrapErr(ErrCommit, group+": encrypting", err)
		}
		// The message key is used up whether or not the delivery service
		// takes the message: save before posting, so it is never reused,
		// with the message written ahead (a post whose answer is lost is
		// recognized in the log, or posted again by the next command).
		sent, err := a.sendAhead(s, sentApplication, msg)
		if err != nil {
			return events, err
		}
		_, err = a.postSent(ctx, s, sent)
		if errors.Is(err, store.ErrEpoch) && attempt == 1 {
			continue
		}
		if errors.Is(err, store.ErrEpoch) {
			return events, wrapErr(ErrConflict, group+": the group moved to a new epoch twice while sending; try again", err)
		}
		return events, err
	}
}

// Leave leaves the group: members cannot remove themselves by commit (RFC
// 9420 §12.2), so the client posts a Remove proposal for itself (§12.1.3,
// a PublicMessage); the next member to commit covers it (Receive commits
// pending proposals). From then on the group is inactive for every
// operation, but the client keeps its state until a commit removes it:
// proposals are valid only in their epoch (§12.4), so if another commit
// ends the epoch without covering the proposal, the client's next Receive
// notices that it is still a member and proposes again in the new epoch
// (see receiveLeaving). A client alone in its group just drops it.
func (a *Agent) Leave(ctx context.Context, group string) ([]Event, error) {
	s, err := a.openActive(ctx, group)
	if err != nil {
		return nil, err
	}
	if s.g.MemberCount() > 1 {
		if err := a.syncActive(ctx, s); err != nil {
			return nil, err
		}
	}
	if s.g.MemberCount() > 1 {
		if err := a.proposeLeave(ctx, s); err != nil {
			return nil, err
		}
		if s.g == nil {
			return nil, inactiveErr(s.rec) // removed while proposing
		}
		s.rec.Leaving = true
	} else {
		s.drop()
	}
	s.rec.Status = StatusLeft
	if err := a.save(s); err != nil {
		return nil, err
	}
	return []Event{{Kind: EventLeftSelf, Group: group, Epoch: s.rec.Epoch}}, nil
}

// proposeLeave posts a Remove proposal for the client itself in the
// group's current epoch; if the epoch ends first (409), it catches up and
// proposes once more. The proposal is pending in s.g and skipped when it
// comes back in the log; the caller saves s.
func (a *Agent) proposeLeave(ctx context.Context, s *session) error {
	for attempt := 1; ; attempt++ {
		msg, err := s.g.Propose(mls.NewRemove(s.g.LeafIndex()), nil)
		if err != nil {
			return wrapErr(ErrCommit, s.rec.Name+": proposing to leave", err)
		}
		sent, err := a.sendAhead(s, sentProposal, msg)
		if err != nil {
			return err
		}
		epoch := s.g.Epoch()
		_, err = a.postSent(ctx, s, sent)
		if errors.Is(err, store.ErrEpoch) && attempt == 1 {
			if err := a.catchUp(ctx, s); err != nil {
				return err
			}
			if s.g == nil {
				return nil // removed meanwhile: nothing left to ask
			}
			continue
		}
		if err != nil {
			return err
		}
		s.rec.LeaveEpoch = epoch
		return nil
	}
}

// receiveLeaving follows the log of a group the client asked to leave
// until a commit removes it. Only the events queued before the client left
// are reported: it is no longer interested in the group. Once caught up,
// a client still in the group whose Remove proposal belongs to an epoch
// that ended is no longer asking to leave (§12.4: proposals are valid only
// in their epoch, and the commit that ended it did not cover it), so it
// proposes again in the current epoch. A client left alone in the group,
// or one that cannot follow the log any more, drops the state.
func (a *Agent) receiveLeaving(ctx context.Context, rec *groupRecord, named bool, deliver func([]Event) error) error {
	s, err := a.loadLeaving(rec)
	if err != nil {
		return err
	}
	reported := len(rec.Inbox)
	err = a.catchUp(ctx, s)
	events := slices.Clone(s.rec.Inbox[:reported])
	switch {
	case errors.Is(err, ErrOutOfSync):
		events = append(events, Event{Kind: EventWarning, Group: rec.Name,
			Text: fmt.Sprintf("stopped following the group this client left, its leaf remains (a member can remove it): %v", err)})
		err = nil
		s.drop()
	case err != nil || s.g == nil:
	case s.g.MemberCount() == 1:
		s.drop()
	case s.g.Epoch() != s.rec.LeaveEpoch:
		err = a.proposeLeave(ctx, s)
	}
	if err == nil && named && len(events) == 0 {
		err = inactiveErr(s.rec)
	}
	return a.report(s, events, deliver, err)
}

// Receive fetches and processes everything new in the group named group,
// or in every group if group is "", and returns the events not reported
// before, oldest first per group, groups by name. A group with proposals
// pending once caught up gets a commit covering them (so that a member's
// request to leave is carried out); its events come last. A group the
// client is no longer in reports its last events once; named explicitly
// afterwards, it is an error wrapping ErrInactive. An error in one group
// does not stop the others: the events gathered are returned with it.
//
// The events count as reported once Receive returns: a caller that must
// not lose them to a crash before it has shown or stored them uses
// Deliver.
func (a *Agent) Receive(ctx context.Context, group string) ([]Event, error) {
	var events []Event
	err := a.Deliver(ctx, group, func(ev []Event) error {
		events = append(events, ev...)
		return nil
	})
	return events, err
}

// Deliver is Receive handing each group's new events to deliver, which
// shows or stores them, before they are deleted from the group's inbox:
// if the process dies before, or deliver fails, the next Deliver hands
// them over again. So no event is lost, and one is repeated only after a
// crash between deliver and the deletion; Event.Seq, with the group,
// identifies an application message (its position in the group's log).
func (a *Agent) Deliver(ctx context.Context, group string, deliver func([]Event) error) error {
	var recs []*groupRecord
	if group != "" {
		r, err := a.st.findRecord(group)
		if err != nil {
			return err
		}
		recs = []*groupRecord{r}
	} else {
		all, err := a.st.records()
		if err != nil {
			return err
		}
		sortRecords(all)
		recs = all
	}
	var errs []error
	for _, r := range recs {
		if err := a.receive(ctx, r, group != "", deliver); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *Agent) receive(ctx context.Context, rec *groupRecord, named bool, deliver func([]Event) error) error {
	rec, err := a.rejoined(ctx, rec)
	if err != nil {
		return err
	}
	if rec.Leaving {
		return a.receiveLeaving(ctx, rec, named, deliver)
	}
	if rec.Status != StatusActive && len(rec.Inbox) == 0 {
		if named {
			return inactiveErr(rec)
		}
		return nil
	}
	s, err := a.load(rec)
	if err != nil {
		return err
	}
	err = a.catchUp(ctx, s)
	var own []Event
	if err == nil && s.g != nil {
		own, err = a.commitPending(ctx, s)
	}
	return a.report(s, append(s.rec.Inbox, own...), deliver, err)
}

// report saves the session with events as its inbox, hands them to
// deliver and, once delivered, deletes them from the inbox. It returns err
// joined with what failed.
func (a *Agent) report(s *session, events []Event, deliver func([]Event) error, err error) error {
	s.rec.Inbox = events
	if serr := a.save(s); serr != nil {
		return errors.Join(err, serr)
	}
	if len(events) == 0 {
		return err
	}
	if derr := deliver(events); derr != nil {
		return errors.Join(err, derr)
	}
	s.rec.Inbox = nil
	return errors.Join(err, a.st.saveRecord(s.rec))
}

// Summary describes a group as the client sees it; its JSON form is
// `mls client info --json`'s.
type Summary struct {
	Group              string   `json:"group"`
	Epoch              uint64   `json:"epoch"`
	Members            []string `json:"members"` // in leaf order
	EpochAuthenticator string   `json:"epoch_authenticator"`
	// GroupID is the MLS group id, in hex (what RejoinID takes).
	GroupID string `json:"group_id"`
	// Synced reports that the group was caught up with the delivery
	// service just before: false for a summary of the local state only.
	Synced bool `json:"synced"`
	// Fingerprints are the fingerprints of the members' certificates
	// (delivery.Fingerprint), in the order of Members: people compare
	// them out of band to detect a key the CA certified falsely. (Not in
	// the JSON form, whose fields are fixed.)
	Fingerprints []string `json:"-"`
}

// Info catches the group named group up with the delivery service, like
// every operation, and describes it: its epoch, members and epoch
// authenticator (RFC 9420 §8.7), which members compare out of band to
// detect a forked group. If the delivery service cannot be reached, it
// returns the summary of the local state (Synced false) together with the
// error, wrapping ErrDelivery.
func (a *Agent) Info(ctx context.Context, group string) (*Summary, error) {
	s, err := a.openActive(ctx, group)
	if err != nil {
		return nil, err
	}
	err = a.syncActive(ctx, s)
	if err != nil && (!errors.Is(err, ErrDelivery) || s.g == nil) {
		return nil, err
	}
	sum := &Summary{
		Group:              s.rec.Name,
		Epoch:              s.g.Epoch(),
		Members:            []string{},
		EpochAuthenticator: hex.EncodeToString(s.g.EpochAuthenticator()),
		GroupID:            hex.EncodeToString(s.rec.GroupID),
		Synced:             err == nil,
	}
	for leaf := range s.g.Members() {
		ln, _ := s.g.Member(leaf)
		sum.Members = append(sum.Members, identity(ln))
		sum.Fingerprints = append(sum.Fingerprints, fingerprint(ln))
	}
	return sum, err
}

// GroupEntry is a group the state directory knows, as of its last
// catch-up; its JSON form is a line of `mls client groups --json`.
type GroupEntry struct {
	Group   string `json:"group"`
	GroupID string `json:"group_id"` // the MLS group id, in hex
	Status  string `json:"status"`   // a Status: active, removed, left or closed
	Epoch   uint64 `json:"epoch"`    // the last epoch the client knew
	Unread  int    `json:"unread"`   // events Receive has not reported yet
}

// Groups lists the groups the state directory knows, by name, from the
// local state alone: Receive catches them up.
func (a *Agent) Groups() ([]GroupEntry, error) {
	recs, err := a.st.records()
	if err != nil {
		return nil, err
	}
	sortRecords(recs)
	out := []GroupEntry{}
	for _, r := range recs {
		out = append(out, GroupEntry{Group: r.Name, GroupID: hex.EncodeToString(r.GroupID), Status: r.Status.String(), Epoch: r.Epoch, Unread: len(r.Inbox)})
	}
	return out, nil
}

// findMembers returns the leaves of the members whose identity is name.
func findMembers(g *mls.Group, name string) []treekem.LeafIndex {
	var out []treekem.LeafIndex
	for leaf := range g.Members() {
		if memberName(g, leaf) == name {
			out = append(out, leaf)
		}
	}
	return out
}
