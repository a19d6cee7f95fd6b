package agent

import (
	"context"
	"errors"

	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
)

// topUp uploads one-time KeyPackages until Options.KeyPackages of them are
// claimable (RFC 9750 §5.1: provision enough one-time KeyPackages that the
// last-resort one is rarely used), and a fresh last-resort one if the
// client has none or its current one is due for rotation (see
// lastresort.go). The private part of each is saved before its upload.
func (a *Agent) topUp(ctx context.Context) error {
	count, err := a.ds.CountKeyPackages(ctx, a.id.Suite)
	if err != nil {
		return dsErr("counting KeyPackages", err)
	}
	for i := count.OneTime; i < a.opts.KeyPackages; i++ {
		if _, err := a.uploadKeyPackage(ctx, false); err != nil {
			return err
		}
	}
	lr, err := a.readLastResort()
	if err != nil {
		return err
	}
	if count.LastResort == 0 || a.rotationDue(lr) {
		return a.rotateLastResort(ctx, lr)
	}
	return nil
}

// uploadKeyPackage creates a KeyPackage, saves its private part and
// uploads it; it returns its ref.
func (a *Agent) uploadKeyPackage(ctx context.Context, lastResort bool) ([]byte, error) {
	kp, priv, err := mls.NewKeyPackage(a.cfg, &mls.KeyPackageOptions{LastResort: lastResort})
	if err != nil {
		return nil, wrapErr(ErrState, "creating a KeyPackage", err)
	}
	defer priv.Wipe()
	ref, err := priv.Ref()
	if err != nil {
		return nil, wrapErr(ErrState, "creating a KeyPackage", err)
	}
	if err := mls.StoreKeyPackage(a.st, priv); err != nil {
		return nil, err
	}
	if _, err := a.ds.UploadKeyPackage(ctx, kp, lastResort); err != nil {
		return nil, dsErr("uploading a KeyPackage", err)
	}
	return ref, nil
}

// claim claims a KeyPackage of the client name for the cipher suite cs and
// checks it (RFC 9420 §10.1) and that its credential is name's: the
// delivery service is not trusted to hand out the right one.
func (a *Agent) claim(ctx context.Context, name string, cs suite.ID) ([]byte, error) {
	c, err := a.ds.ClaimKeyPackage(ctx, name, uint16(cs))
	if errors.Is(err, store.ErrNoKeyPackage) {
		return nil, wrapErr(ErrKeyPackage, name+" has no KeyPackage of suite "+cs.String()+" (not registered or not initialized?)", err)
	}
	if err != nil {
		return nil, dsErr("claiming a KeyPackage of "+name, err)
	}
	cfg := a.cfg
	cfg.Suite = cs
	kp, err := mls.ValidateKeyPackage(cfg, c.KeyPackage)
	if err != nil {
		return nil, wrapErr(ErrKeyPackage, "KeyPackage claimed for "+name, err)
	}
	if got := identity(&kp.LeafNode); got != name {
		return nil, errorf(ErrKeyPackage, "KeyPackage claimed for %s is for %q", name, clean(got))
	}
	return c.KeyPackage, nil
}
