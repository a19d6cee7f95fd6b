package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/internal/localds"
	"github.com/mlsengine/engine/mls/suite"
)

// A run through a delivery service (Options.DS) posts every message of
// the group from the join phase on to a delivery service (package
// delivery) in this process, on a loopback listener (package localds),
// and the observers fetch what they process from it:
//
//   - The members carry X.509 credentials of the service's certificate
//     authority, which the service validates with its own Authentication
//     Service; the simulator issues them with the CA's key (deterministic
//     certificates, made again from a member's key when needed), where a
//     real client would register. Requests are authenticated as the
//     member they act for (delivery.Config.Authenticate). Members' names
//     and the group id have a random part, so that runs can share a
//     store.
//   - After the build (and shape), the group is created at the service
//     from its GroupInfo and tree (PUT /v1/groups/{group}), which the
//     service validates in full: the build's Add commits are not posted
//     (the steady state is made without commits; a bare run's group
//     restarts at epoch 0 on its built tree).
//   - Each observer uploads its KeyPackage, which the member adding it
//     claims from the directory; the commit is posted as a bundle with
//     its Welcome and the new epoch's GroupInfo; the observer fetches its
//     Welcome and the tree of its epoch (GET .../tree) and joins.
//   - Every later commit (the observers' updates, the measured epochs'
//     commits, whose added members' KeyPackages also go through the
//     directory) is posted as a bundle by its committer before it applies
//     it, and each other observer fetches it from the log and processes
//     it; each application message is posted by its sender and fetched by
//     the others.
//
// The service runs with its default limits, but for a bundle limit
// (delivery.Config.MaxBundleSize) raised to fit the group's setup, which
// carries the whole tree.

// dsRun is a run's delivery service and what the run measured of it.
type dsRun struct {
	ctx   context.Context
	url   string // Options.DS
	run   string // the random part of the members' names
	st    store.Store
	ca    *localds.CA
	auth  *mls.X509Authentication
	svc   *localds.Service // from the "ds" phase on
	gid   []byte
	smp   dsSamples
	setup int // bytes of the group's setup

	// posted, for tests, sees each commit bundle posted and the upload
	// the service's clients counted for it.
	posted func(b *delivery.CommitBundle, upload int)
}

// dsSamples are the measurements of the measured epochs.
type dsSamples struct {
	upload map[string][]int  // bytes of each commit bundle posted, by kind
	cpu    map[string][]span // process CPU (and wall-clock time) of each post, by kind
	fanout []int             // bytes all observers fetched for each commit
	fetch  []time.Duration   // wall-clock time of each observer's fetch of a commit
	join   []int             // bytes each observer fetched to join: Welcome and tree
	tree   []int             // bytes of the tree each observer fetched
	app    []int             // bytes of each application message posted
}

// caLifetime is the validity of a CA the simulator makes, from the day
// before the simulated clock (epochTime): it must also hold the real time
// at which the service validates credentials and KeyPackages.
const caLifetime = 30 * 365 * 24 * time.Hour

// openDS opens the store of Options.DS and its certificate authority, and
// makes the members' configs carry the CA's credentials.
func openDS(ctx context.Context, storeURL string, k *keys) (*dsRun, error) {
	st, err := delivery.OpenStore(ctx, storeURL)
	if errors.Is(err, delivery.ErrStoreURL) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if err != nil {
		return nil, fmt.Errorf("sim: the delivery service's store: %w", err)
	}
	ca, err := localds.OpenCA(ctx, st, k.now.Add(-24*time.Hour), k.now.Add(caLifetime))
	if err == nil && (k.now.Before(ca.NotBefore) || time.Now().After(ca.NotAfter)) {
		err = fmt.Errorf("the store's certificate authority is valid from %v to %v, not at the simulated time %v and now: give another store",
			ca.NotBefore, ca.NotAfter, k.now)
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("sim: the delivery service's store: %w", err)
	}
	var run [4]byte
	rand.Read(run[:])
	d := &dsRun{ctx: ctx, url: storeURL, run: hex.EncodeToString(run[:]), st: st, ca: ca, auth: &mls.X509Authentication{Roots: ca.Roots()},
		smp: dsSamples{upload: map[string][]int{}, cpu: map[string][]span{}}}
	k.dress = d.dress
	return d, nil
}

// close stops the service and closes the store.
func (d *dsRun) close() error {
	var err error
	if d.svc != nil {
		err = d.svc.Close()
	}
	return errors.Join(err, d.st.Close())
}

// name is the client name of member id at the service, the identity of
// its credential: "member-ID.RUN", RUN being random, so that the members
// of runs sharing a store are distinct clients (their keys, from the seed,
// may be the same).
func (d *dsRun) name(id uint64) string { return fmt.Sprintf("member-%d.%s", id, d.run) }

// dress makes member id's Config that of a client of the service: its
// X.509 credential from the CA, credentials checked against the CA's root,
// the service's policy, and KeyPackages valid until the CA expires (the
// service checks their lifetimes against the real time).
func (d *dsRun) dress(id uint64, cfg *mls.Config) error {
	cs, err := suite.Lookup(cfg.Suite)
	if err != nil {
		return err
	}
	chain, err := d.ca.Certify(d.name(id), cs, cfg.Signer.Public())
	if err != nil {
		return err
	}
	if cfg.Credential, err = mls.X509Credential(chain, cfg.Signer); err != nil {
		return err
	}
	cfg.Authentication = d.auth
	cfg.Policy = delivery.Policy()
	cfg.KeyPackageLifetime = d.ca.NotAfter.Sub(cfg.Now())
	return nil
}

// groupIDSource returns the randomness of the group id: from the seed,
// but random through a delivery service, so that runs (a sweep's, or a
// second one) can share its store.
func (r *runner) groupIDSource() io.Reader {
	if r.ds != nil {
		return rand.Reader
	}
	return r.keys.stream(streamGroup, 0)
}

// register creates the group at the service (phase "ds"): the view's
// GroupInfo and tree, posted by the view's member (the creator, at leaf
// 0). A bare run's group, past epoch 0, restarts at epoch 0 on its tree
// first (mls.GroupFromTree), since a group is created at epoch 0.
func (r *runner) register() error {
	d := r.ds
	r.opts.progress("ds", 0, 0)
	if r.view.Epoch() != 0 {
		if err := r.restart("ds", 2, r.view.Tree().Clone()); err != nil {
			return err
		}
	}
	gi, err := r.view.GroupInfo(nil)
	if err != nil {
		return failed("ds", 0, err, "GroupInfo")
	}
	rt, err := r.view.RatchetTree()
	if err != nil {
		return failed("ds", 0, err, "ratchet tree")
	}
	// The setup carries the whole tree: the bundle limit must fit it.
	limit := max(delivery.DefaultMaxBundleSize, int64(len(gi)+len(rt))+1<<10)
	if d.svc, err = localds.Start(localds.Config{Store: d.st, CA: d.ca, Server: delivery.Config{MaxBundleSize: limit}}); err != nil {
		return failed("ds", 0, err, "starting the delivery service")
	}
	d.gid = r.groupID
	up0, _ := d.svc.Traffic()
	if _, err := d.client(r.idAt(r.view.LeafIndex())).CreateGroup(d.ctx, d.gid, &delivery.GroupSetup{GroupInfo: gi, RatchetTree: rt}); err != nil {
		return failed("ds", 0, d.explain(err), "creating the group at the delivery service")
	}
	up1, _ := d.svc.Traffic()
	d.setup = int(up1 - up0)
	r.opts.progress("ds", 1, 1)
	return nil
}

// client returns the client of member id.
func (d *dsRun) client(id uint64) *delivery.Client { return d.svc.Client(d.name(id)) }

// explain adds to err the service's own error, for a request it failed
// (a 500 says nothing more).
func (d *dsRun) explain(err error) error {
	var se *delivery.StatusError
	if errors.As(err, &se) && se.StatusCode >= 500 {
		if last := d.svc.LastError(); last != "" {
			return fmt.Errorf("%w (the service: %s)", err, last)
		}
	}
	return err
}

// keyPackage passes member id's KeyPackage kp through the directory: id
// uploads it and the committer claims it, as a real committer claims the
// KeyPackage of the member it adds. It returns the claimed KeyPackage.
func (d *dsRun) keyPackage(id, committer uint64, kp []byte) ([]byte, error) {
	if _, err := d.client(id).UploadKeyPackage(d.ctx, kp, false); err != nil {
		return nil, fmt.Errorf("uploading member %d's KeyPackage: %w", id, d.explain(err))
	}
	c, err := d.client(committer).ClaimKeyPackage(d.ctx, d.name(id), 0)
	if err != nil {
		return nil, fmt.Errorf("claiming member %d's KeyPackage: %w", id, d.explain(err))
	}
	if !bytes.Equal(c.KeyPackage, kp) {
		return nil, fmt.Errorf("the directory handed out another KeyPackage of member %d", id)
	}
	return c.KeyPackage, nil
}

// dsPost is what posting a commit cost.
type dsPost struct {
	seq    uint64
	upload int  // bytes of the bundle posted
	cost   span // of PostCommit: the process's CPU time while the service handled it
}

// postCommit posts pc, the pending commit of member id, with its Welcome
// and the new epoch's GroupInfo.
func (d *dsRun) postCommit(id uint64, pc *mls.PendingCommit) (dsPost, error) {
	gi, err := pc.GroupInfo()
	if err != nil {
		return dsPost{}, fmt.Errorf("the new epoch's GroupInfo: %w", err)
	}
	b := &delivery.CommitBundle{Commit: pc.Commit, Welcome: pc.Welcome, GroupInfo: gi}
	dc := d.client(id)
	var p dsPost
	up0, _ := d.svc.Traffic()
	p.cost, err = measure(func() error {
		posted, err := dc.PostCommit(d.ctx, d.gid, b)
		p.seq = posted.Seq
		return err
	})
	if err != nil {
		return dsPost{}, fmt.Errorf("posting the commit: %w", d.explain(err))
	}
	up1, _ := d.svc.Traffic()
	p.upload = int(up1 - up0)
	if d.posted != nil {
		d.posted(b, p.upload)
	}
	return p, nil
}

// fetched is what an observer fetched.
type fetched struct {
	msg      []byte
	download int
	wall     time.Duration
}

// receive has observer o fetch the log after its cursor, which must hold
// exactly msg, posted at seq.
func (d *dsRun) receive(o *observer, seq uint64, msg []byte) (fetched, error) {
	dc := d.client(o.id)
	_, down0 := d.svc.Traffic()
	t0 := time.Now()
	es, err := dc.Fetch(d.ctx, d.gid, o.cursor, 0, 0)
	f := fetched{wall: time.Since(t0)}
	if err != nil {
		return f, fmt.Errorf("fetching: %w", d.explain(err))
	}
	_, down1 := d.svc.Traffic()
	f.download = int(down1 - down0)
	if len(es) != 1 || es[0].Seq != seq || !bytes.Equal(es[0].Message, msg) {
		return f, fmt.Errorf("fetched %d messages after %d, want the one posted at %d", len(es), o.cursor, seq)
	}
	o.cursor, f.msg = seq, es[0].Message
	return f, nil
}

// welcome has observer o fetch its Welcome and the tree of its epoch, and
// delete the Welcome from its queue. It returns them and the number of
// bytes it fetched; o's cursor is set to the commit that added it.
func (d *dsRun) welcome(o *observer) (welcome, tree []byte, download int, err error) {
	dc := d.client(o.id)
	_, down0 := d.svc.Traffic()
	pw, err := dc.NextWelcome(d.ctx)
	if err == nil && (pw == nil || !bytes.Equal(pw.GroupID, d.gid)) {
		err = errors.New("no Welcome to the group")
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("the Welcome: %w", d.explain(err))
	}
	if tree, err = dc.TreeAt(d.ctx, d.gid, pw.Epoch); err != nil {
		return nil, nil, 0, fmt.Errorf("the tree of epoch %d: %w", pw.Epoch, d.explain(err))
	}
	_, down1 := d.svc.Traffic()
	if err := dc.DeleteWelcome(d.ctx, pw.ID); err != nil {
		return nil, nil, 0, fmt.Errorf("deleting the Welcome: %w", d.explain(err))
	}
	o.cursor = pw.Seq
	return pw.Welcome, tree, int(down1 - down0), nil
}

// welcomeOf returns the Welcome and the tree with which observer o joins
// through the commit out: passed out of band, or fetched from the
// delivery service.
func (r *runner) welcomeOf(o *observer, out *commitOut) (welcome, tree []byte, err error) {
	if r.ds == nil {
		tree, err := r.view.RatchetTree()
		return out.pc.Welcome, tree, err
	}
	welcome, tree, n, err := r.ds.welcome(o)
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(welcome, out.pc.Welcome) {
		return nil, nil, errors.New("the service handed out another Welcome than the commit's")
	}
	r.ds.smp.join = append(r.ds.smp.join, n)
	r.ds.smp.tree = append(r.ds.smp.tree, len(tree))
	return welcome, tree, nil
}

// postApplication posts observer s's application message ct and returns
// its place in the log.
func (d *dsRun) postApplication(s *observer, ct []byte) (uint64, error) {
	up0, _ := d.svc.Traffic()
	p, err := d.client(s.id).Post(d.ctx, d.gid, ct)
	if err != nil {
		return 0, fmt.Errorf("posting: %w", d.explain(err))
	}
	up1, _ := d.svc.Traffic()
	d.smp.app = append(d.smp.app, int(up1-up0))
	if p.Seq != s.cursor+1 {
		return 0, fmt.Errorf("the message is at %d in the log, its sender had read up to %d", p.Seq, s.cursor)
	}
	s.cursor = p.Seq
	return p.Seq, nil
}

// redactedURL returns a store URL without its password.
func redactedURL(s string) string {
	if !strings.HasPrefix(s, "postgres") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}
