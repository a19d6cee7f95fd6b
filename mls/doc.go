// Package mls is the group state machine of RFC 9420 (MLS).
package mls
