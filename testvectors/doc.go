// Package testvectors checks the library against the official RFC 9420
// interop test vectors (github.com/mlswg/mls-implementations, folder
// test-vectors). Each JSON file kind has one Go type whose Verify method
// drives the library's exported functions; [VerifyFile] runs every case of a
// file and reports per-case failures, which is what `mls vectors verify`
// prints.
package testvectors
