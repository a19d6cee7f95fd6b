// Package simulation is the key to the functions of package mls that give
// a simulator and tests access to other members' states (mls.GroupFromTree,
// mls.ViewAs, mls.LeafPrivateKey). Being internal, it can be imported only
// by package mls and the packages below it (mls/sim): the functions that
// take an Access are not part of the API an application sees.
package simulation

// Access is the first argument of the simulation functions of package mls.
type Access struct{ _ struct{} }
