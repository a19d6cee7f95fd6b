package interop

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mlsengine/engine/mls"
	"github.com/mlsengine/engine/mls/suite"
	"github.com/mlsengine/engine/mls/wire"
)

// codeOf is the gRPC status code for each sentinel error of package mls,
// in the order they are tested: the first that err wraps decides.
var codeOf = []struct {
	err  error
	code codes.Code
}{
	{mls.ErrInternal, codes.Internal},
	// The application's policy refused it (the error may also wrap the
	// sentinel of the rule, such as ErrInvalidProposal).
	{mls.ErrRejected, codes.PermissionDenied},
	// The request's input is bad: it does not decode, does not verify or
	// breaks a rule of RFC 9420.
	{mls.ErrInvalidArgument, codes.InvalidArgument},
	{mls.ErrMalformed, codes.InvalidArgument},
	{mls.ErrAuthentication, codes.InvalidArgument},
	{mls.ErrInvalidProposal, codes.InvalidArgument},
	{mls.ErrInvalidCommit, codes.InvalidArgument},
	{mls.ErrInvalidWelcome, codes.InvalidArgument},
	{mls.ErrNoKeyPackage, codes.InvalidArgument},
	{mls.ErrReplay, codes.InvalidArgument},
	// The input may be fine, but not for this state.
	{mls.ErrWrongGroup, codes.FailedPrecondition},
	{mls.ErrWrongEpoch, codes.FailedPrecondition},
	{mls.ErrStale, codes.FailedPrecondition},
	{mls.ErrInactive, codes.FailedPrecondition},
	{mls.ErrPendingProposals, codes.FailedPrecondition},
	{mls.ErrOwnMessage, codes.FailedPrecondition},
	{mls.ErrPSKNotFound, codes.FailedPrecondition},
	{mls.ErrUnsupported, codes.Unimplemented},
	{suite.ErrUnsupportedSuite, codes.Unimplemented},
	{wire.ErrDecode, codes.InvalidArgument},
}

// statusErr turns an error of the library into a gRPC status error with
// the library's message. Errors that already are status errors pass
// unchanged; anything unexpected is Unknown.
func statusErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, c := range codeOf {
		if errors.Is(err, c.err) {
			return status.Error(c.code, err.Error())
		}
	}
	return status.Error(codes.Unknown, err.Error())
}

// invalid reports a request field the server cannot use.
func invalid(msg string) error { return status.Error(codes.InvalidArgument, "interop: "+msg) }

// notFound reports an id that names no live object.
func notFound(msg string) error { return status.Error(codes.NotFound, "interop: "+msg) }

// failedPrecondition reports a request that does not fit the object's state.
func failedPrecondition(msg string) error {
	return status.Error(codes.FailedPrecondition, "interop: "+msg)
}
