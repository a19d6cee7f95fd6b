package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/store"
	"github.com/mlsengine/engine/internal/errlog"
)

// startHTTP starts a delivery service over st on loopback and prepares the
// benchmark's load posted through its HTTP API: each client posts over a
// keep-alive connection of its own (see poster). stop stops the service.
func startHTTP(ctx context.Context, st store.Store, gids [][]byte, cfg Config) (m *measurement, stop func(), err error) {
	// One client posts the whole load: no per-client upload limit.
	logged := new(errlog.Handler)
	srv, err := delivery.NewServer(delivery.Config{Store: st, Logger: slog.New(logged),
		Limits: delivery.Limits{Uploads: delivery.Rate{PerSecond: -1}}})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	posters := &posterPool{addr: ln.Addr().String()}
	stop = func() {
		posters.close()
		cancel()
		<-served
	}
	c := &delivery.Client{BaseURL: "http://" + posters.addr}
	var suffix [6]byte
	rand.Read(suffix[:])
	if _, err := c.Register(ctx, "bench-"+hex.EncodeToString(suffix[:])); err != nil {
		stop()
		return nil, nil, err
	}
	posters.token = c.Token
	var next atomic.Uint64
	m = newMeasurement("HTTP posts on loopback, load generator in the same process", streamHTTP, cfg, func(ctx context.Context, m *messages) (int, error) {
		gid := gids[next.Add(1)%uint64(len(gids))]
		p, err := posters.get(ctx)
		if err != nil {
			return 0, err
		}
		err = p.post(gid, m.next(gid))
		posters.put(p, err)
		if err != nil {
			if cause := logged.First(); cause != "" {
				err = fmt.Errorf("%w (the service logged: %s)", err, cause)
			}
		}
		return 1, err
	})
	return m, stop, nil
}

// A poster is the load generator's client of the HTTP API: it posts
// messages (POST /v1/groups/{group}/messages) one after another over one
// keep-alive HTTP/1.1 connection, writing each request with one write and
// reading the response with net/http's parser. It does what
// delivery.Client.Post does on the wire, without the machinery of a
// general client (a connection pool, two goroutines per connection,
// request and header maps), so that the load it generates costs the
// machine little next to the service it measures: on a real deployment the
// clients run elsewhere.
type poster struct {
	conn  net.Conn
	br    *bufio.Reader
	req   []byte // the request being written
	host  string
	token string
}

// post posts msg to the group and checks that the service stored it.
func (p *poster) post(gid, msg []byte) error {
	b := append(p.req[:0], "POST /v1/groups/"...)
	b = base64.RawURLEncoding.AppendEncode(b, gid)
	b = append(b, "/messages HTTP/1.1\r\nHost: "...)
	b = append(b, p.host...)
	b = append(b, "\r\nAuthorization: Bearer "...)
	b = append(b, p.token...)
	b = append(b, "\r\nContent-Type: "+delivery.MediaTypeMLS+"\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(msg)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, msg...)
	p.req = b
	if _, err := p.conn.Write(b); err != nil {
		return err
	}
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated { // 201: stored (a duplicate is answered 200)
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("POST answered %s: %s", resp.Status, body)
	}
	_, err = io.Copy(io.Discard, resp.Body) // the Posted JSON, read to reuse the connection
	return err
}

// posterPool keeps the posters' connections for the slices of a
// measurement: each client takes one, and gives it back unless it failed.
type posterPool struct {
	addr, token string
	mu          sync.Mutex
	idle        []*poster
}

func (pp *posterPool) get(ctx context.Context) (*poster, error) {
	pp.mu.Lock()
	if n := len(pp.idle); n > 0 {
		p := pp.idle[n-1]
		pp.idle = pp.idle[:n-1]
		pp.mu.Unlock()
		return p, nil
	}
	pp.mu.Unlock()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", pp.addr)
	if err != nil {
		return nil, err
	}
	return &poster{conn: conn, br: bufio.NewReader(conn), host: pp.addr, token: pp.token}, nil
}

func (pp *posterPool) put(p *poster, err error) {
	if err != nil {
		p.conn.Close()
		return
	}
	pp.mu.Lock()
	pp.idle = append(pp.idle, p)
	pp.mu.Unlock()
}

func (pp *posterPool) close() {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	for _, p := range pp.idle {
		p.conn.Close()
	}
	pp.idle = nil
}
