// Package mlsclientpb is the Go code generated from mls_client.proto, the
// MLSClient gRPC service of the MLS working group's interop harness
// (github.com/mlswg/mls-implementations, interop/proto, at commit
// cfd450286d1bfd9cd2519b95c80f9771f94a5b1a; the .proto here is that file,
// unmodified). The generated files are committed so that building needs no
// protoc.
//
// To regenerate: Debian's protobuf-compiler (protoc 3.21.12) and, on PATH,
// protoc-gen-go and protoc-gen-go-grpc installed with
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//
// then run go generate in this directory. The server interface is generated
// without the embedded "unimplemented" server
// (require_unimplemented_servers=false), so that a server missing an RPC
// does not compile.
package mlsclientpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Mmls_client.proto=github.com/mlsengine/engine/internal/interop/mlsclientpb;mlsclientpb --go-grpc_out=. --go-grpc_opt=paths=source_relative --go-grpc_opt=require_unimplemented_servers=false --go-grpc_opt=Mmls_client.proto=github.com/mlsengine/engine/internal/interop/mlsclientpb;mlsclientpb mls_client.proto
