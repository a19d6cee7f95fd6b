package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/mlsengine/engine/internal/interop/mlsclientpb"
)

// TestInteropUsage checks the usage errors of mls interop.
func TestInteropUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		cmd  string
	}{
		{[]string{"interop"}, "interop"},
		{[]string{"interop", "run"}, "interop"},
		{[]string{"interop", "serve", "extra"}, "interop serve"},
		{[]string{"interop", "serve", "--nosuch"}, "interop serve"},
		{[]string{"interop", "serve", "--name", "a", "--name", "b"}, "interop serve"},
	} {
		code, out, errOut := runCLI(tc.args...)
		m := usageErrorRE.FindStringSubmatch(errOut)
		if code != exitUsage || out != "" || m == nil || m[1] != tc.cmd || m[2] != tc.cmd {
			t.Errorf("mls %q: exit %d, stdout %q, stderr %q; want a usage error of %q", tc.args, code, out, errOut, tc.cmd)
		}
	}
}

// TestInteropServe runs mls interop serve: it answers the Name RPC with
// --name once it said it listens, and stops cleanly when its context ends.
// An address in use makes it exit 1.
func TestInteropServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	var errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"interop", "serve", "--listen", "127.0.0.1:0", "--name", "tested"}, outW, &errOut)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	const ready = "mls: interop: listening on "
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), ready) {
		t.Fatalf("first line %q", lines.Text())
	}
	addr := strings.TrimPrefix(lines.Text(), ready)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rpcCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if r, err := pb.NewMLSClientClient(conn).Name(rpcCtx, &pb.NameRequest{}); err != nil || r.Name != "tested" {
		t.Fatalf("Name: %v, %v", r, err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if code, _, stderr := runCLI("interop", "serve", "--listen", ln.Addr().String()); code != exitFailed || !strings.Contains(stderr, "mls: interop: ") {
		t.Errorf("serving on an address in use: exit %d, stderr %q", code, stderr)
	}

	cancel()
	if !lines.Scan() || lines.Text() != "mls: interop: stopped" {
		t.Errorf("last line %q", lines.Text())
	}
	if code := <-done; code != exitOK {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
