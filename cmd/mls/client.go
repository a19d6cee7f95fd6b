package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/mlsengine/engine/delivery"
	"github.com/mlsengine/engine/delivery/agent"
	"github.com/mlsengine/engine/mls/suite"
)

// Defaults of `mls client`.
const (
	defaultClientDir = ".mls"
	defaultClientDS  = "http://127.0.0.1:8080"
)

const clientDetails = `DIR is --dir, else $MLS_DIR, else ./.mls; URL is --ds, else $MLS_DS, else
http://127.0.0.1:8080. Flags may come anywhere before the arguments that
are text (send's TEXT), and each at most once; "--" ends them. Every
command on a group first catches up with it (what that reads is printed by
the next recv), and finishes a commit or message of this client that an
earlier command could not (killed, or the connection lost). --json prints
one JSON object per line instead of text.

Exit status: 0 on success, 1 when the command failed (the message says
what to do next), 2 for a usage error, 130 when interrupted (Ctrl-C).
`

// clientSub is a command of `mls client`.
type clientSub struct {
	word     string // its name after "client"
	args     string
	summary  string
	details  string
	min, max int      // positional arguments; max < 0: any number
	flags    []string // besides --dir, --ds and --json
	// text is the number of arguments after which the rest is text,
	// taken as it is (0: none).
	text int
	run  func(c *clientRun, args []string) error
}

func clientSubs() []*clientSub {
	return []*clientSub{
		{word: "init", args: "NAME [--suite ID] [--ca FILE]", min: 1, max: 1, flags: []string{"suite", "ca"}, run: (*clientRun).init,
			summary: "create the identity NAME, register it with the delivery service, upload KeyPackages",
			details: `ID is a cipher suite number (` + suiteRange + `, decimal or 0x hex)
or its name (default 1, MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519). The delivery service certifies
NAME's signature key with its CA; init pins the CA's root certificate (the
one the service presents: trust on first use; with --ca FILE, PEM or DER,
the one given, and the service must present it) and every credential the
client meets is validated against it. Prints "initialized NAME (SUITE) in
DIR" and "CA fingerprint: HEX" (compare it out of band); JSON:
{"client","suite","dir","ca_fingerprint"}. Run again on an initialized DIR,
it only uploads the KeyPackages missing.
`},
		{word: "create", args: "GROUP [--open | --admit NAME,...]", min: 1, max: 1, flags: []string{"open", "admit"}, run: (*clientRun).create,
			summary: "create a group named GROUP",
			details: `The delivery service tracks the group from its initial state and validates
every commit. Only clients a member adds are in the group; --open lets any
client join it on its own (rejoin), --admit the clients named. Prints
"created GROUP"; JSON: {"group","group_id"}.
`},
		{word: "add", args: "GROUP NAME...", min: 2, max: -1, run: (*clientRun).add,
			summary: "add clients to the group",
			details: `Claims a KeyPackage of each NAME and commits their addition, with the
proposals pending in the group. Prints "GROUP: ME added NAME" per client.
`},
		{word: "join", args: "", min: 0, max: 0, run: (*clientRun).join,
			summary: "accept every pending Welcome",
			details: `Prints "joined GROUP" per group joined, a warning on stderr per Welcome
that cannot be used, and says so on stderr when no Welcome is pending.
`},
		{word: "send", args: "GROUP TEXT...", min: 2, max: -1, text: 1, run: (*clientRun).send,
			summary: "send a message to the group",
			details: `Everything after GROUP is the message, taken as it is (the words joined by
spaces): flags go before GROUP. Proposals pending in the group are
committed first (RFC 9420 §12.4), and that commit's events printed.
`},
		{word: "recv", args: "[GROUP]", min: 0, max: 1, run: (*clientRun).recv,
			summary: "fetch and process everything new, in GROUP or every group",
			details: `Prints one line per event: "GROUP NAME: TEXT" per message, and
"GROUP: NAME added NAME", "GROUP: NAME removed NAME", "GROUP: NAME left",
"GROUP: NAME updated", "GROUP: NAME joined", "GROUP: NAME rejoined",
"GROUP: NAME removed you", "GROUP: you left"; warnings go to stderr. A
group with proposals pending gets a commit covering them. JSON: one
object per event, {"kind","group","seq","epoch","sender","member","text"}
(kind: message, added, removed, left, updated, removed_you, you_left,
warning, rejoined), warnings included. Events are deleted once printed: a
recv killed in between prints them again (seq, with the group, identifies
a message).
`},
		{word: "update", args: "GROUP", min: 1, max: 1, run: (*clientRun).update,
			summary: "refresh this client's keys in the group",
			details: `Prints "GROUP: ME updated".
`},
		{word: "remove", args: "GROUP NAME...", min: 2, max: -1, run: (*clientRun).remove,
			summary: "remove clients from the group",
			details: `Prints "GROUP: ME removed NAME" per client. To remove this client, use leave.
`},
		{word: "leave", args: "GROUP", min: 1, max: 1, run: (*clientRun).leave,
			summary: "ask to leave the group and forget it",
			details: `Posts a proposal to remove this client; the next member to recv commits
it. Prints "GROUP: you left".
`},
		{word: "info", args: "GROUP", min: 1, max: 1, run: (*clientRun).info,
			summary: "epoch, members and epoch authenticator of the group, caught up",
			details: `Catches up first. Prints "group:", "group_id:", "epoch:", "members:",
"epoch_authenticator:" and "fingerprints:" lines; JSON: {"group","epoch",
"members","epoch_authenticator","group_id","synced"}. Members compare the
epoch authenticator out of band to detect a forked group, and the
fingerprints of the members' certificates (in the order of members) to
detect a key the delivery service's CA certified falsely. When the
delivery service cannot be reached, it prints the local state with synced
false, says "local state, not synced" on stderr and exits 1.
`},
		{word: "groups", args: "", min: 0, max: 0, run: (*clientRun).groups,
			summary: "list the groups in the state directory",
			details: `From the local state alone (recv catches up): one line per group,
"GROUP STATUS epoch N" (STATUS: active, removed, left or closed), with
"(K unread)" when recv has events to print; JSON: one object per group,
{"group","group_id","status","epoch","unread"}.
`},
		{word: "rejoin", args: "GROUP | --id HEX", min: 0, max: 1, flags: []string{"id"}, run: (*clientRun).rejoin,
			summary: "join the group again by external commit",
			details: `From the GroupInfo and tree the delivery service serves, when a command says
the state cannot follow the group, or it is lost: a resync replacing this
client's leaf. After being removed or leaving, only a group created --open
(or --admit with this client) takes it back; otherwise a member adds it
again. It continues only the group this client knew (same id, a later
epoch, the members it knew unless the log removes them) and refuses
otherwise. --id HEX names the group by its id (the group_id info prints).
Prints "rejoined GROUP"; a member in sync is told there is nothing to do.
`},
	}
}

// command returns the help entry of a client command.
func (s *clientSub) command() *command {
	return &command{name: "client " + s.word, args: s.args,
		synopsis: strings.TrimSpace("client [--dir DIR] [--ds URL] [--json] " + s.word + " " + s.args),
		summary:  s.summary, details: s.details + "\n" + clientDetails}
}

func clientCommand() *command {
	subs := clientSubs()
	c := &command{
		name:    "client",
		args:    "[--dir DIR] [--ds URL] [--json] COMMAND [ARGS]",
		summary: "drive real groups through a delivery service: one client, its state in DIR, the service at URL",
		details: clientDetails,
	}
	for _, s := range subs {
		c.subs = append(c.subs, s.command())
	}
	c.run = func(e *env, args []string) int { return runClient(e, c, subs, args) }
	return c
}

// clientFlags are the flags of every client command.
type clientFlags struct {
	dir, ds, suite, id, ca, admit string
	json, open                    bool
}

func runClient(e *env, client *command, subs []*clientSub, args []string) int {
	var f clientFlags
	fs := newFlagSet(client)
	fs.StringVar(&f.dir, "dir", "", "")
	fs.StringVar(&f.ds, "ds", "", "")
	fs.StringVar(&f.suite, "suite", "", "")
	fs.StringVar(&f.id, "id", "", "")
	fs.StringVar(&f.ca, "ca", "", "")
	fs.StringVar(&f.admit, "admit", "", "")
	fs.BoolVar(&f.json, "json", false, "")
	fs.BoolVar(&f.open, "open", false, "")
	onlyOnce(fs)
	lookup := func(word string) *clientSub {
		i := slices.IndexFunc(subs, func(s *clientSub) bool { return s.word == word })
		if i < 0 {
			return nil
		}
		return subs[i]
	}
	pos, err := parseInterleaved(fs, args, func(pos []string) bool {
		if len(pos) == 0 {
			return false
		}
		s := lookup(pos[0])
		return s != nil && s.text > 0 && len(pos) == 1+s.text
	})
	// The usage that applies: the command's, once it is known.
	cmd := client
	var sub *clientSub
	if len(pos) > 0 {
		if sub = lookup(pos[0]); sub != nil {
			cmd = sub.command()
		}
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, cmd.usage())
		return exitOK
	}
	if err != nil {
		return usageError(e, cmd, "%v", err)
	}
	switch {
	case len(pos) == 0:
		return usageError(e, client, "missing command")
	case pos[0] == "help":
		if len(pos) == 1 {
			fmt.Fprint(e.stdout, client.usage())
			return exitOK
		}
		if s := lookup(pos[1]); s != nil && len(pos) == 2 {
			fmt.Fprint(e.stdout, s.command().usage())
			return exitOK
		}
		return usageError(e, client, "unknown command %q", strings.Join(pos[1:], " "))
	case sub == nil:
		return usageError(e, client, "unknown command %q", pos[0])
	}
	rest := pos[1:]
	if len(rest) < sub.min || (sub.max >= 0 && len(rest) > sub.max) {
		return usageError(e, cmd, "wrong number of arguments")
	}
	for _, name := range flagsSet(fs) {
		if name != "dir" && name != "ds" && name != "json" && !slices.Contains(sub.flags, name) {
			return usageError(e, cmd, "%s does not take --%s", sub.word, name)
		}
	}
	opts, err := clientOptions(f.dir, f.ds)
	if err != nil {
		return usageError(e, cmd, "%v", err)
	}
	c := &clientRun{ctx: e.ctx, opts: opts, flags: f, stdout: e.stdout, stderr: e.stderr}
	if err := c.check(sub.word, rest); err != nil {
		return usageError(e, cmd, "%v", err)
	}
	err = sub.run(c, rest)
	if e.ctx.Err() != nil {
		return interrupted(e, cmd)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitFailed
	}
	return exitOK
}

// clientOptions resolves the state directory and delivery service URL.
func clientOptions(dir, ds string) (agent.Options, error) {
	if dir == "" {
		dir = os.Getenv("MLS_DIR")
	}
	if dir == "" {
		dir = defaultClientDir
	}
	if ds == "" {
		ds = os.Getenv("MLS_DS")
	}
	if ds == "" {
		ds = defaultClientDS
	}
	u, err := url.Parse(ds)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return agent.Options{}, fmt.Errorf("delivery service URL %q: want http://HOST:PORT or an https URL", ds)
	}
	return agent.Options{Dir: dir, DS: ds}, nil
}

// clientRun is one `mls client` command being run.
type clientRun struct {
	ctx            context.Context
	opts           agent.Options
	flags          clientFlags
	stdout, stderr io.Writer
	suite          suite.ID            // init's
	groupID        []byte              // rejoin --id's
	createOpts     agent.CreateOptions // create's
}

// check checks the arguments that need more than counting.
func (c *clientRun) check(word string, args []string) error {
	var err error
	switch word {
	case "init":
		c.suite = agent.DefaultSuite
		if c.flags.suite != "" {
			if c.suite, err = suite.ParseID(c.flags.suite); err != nil {
				return fmt.Errorf("--suite %q: want a number (%s) or a name such as %v", c.flags.suite, suiteRange, agent.DefaultSuite)
			}
		}
		if c.flags.ca != "" {
			root, err := delivery.ParseCertificateFile(c.flags.ca)
			if err != nil {
				return fmt.Errorf("--ca: %v", err)
			}
			c.opts.CA = root.Raw
		}
	case "create":
		if c.flags.open && c.flags.admit != "" {
			return errors.New("--open admits everyone: give --open or --admit, not both")
		}
		c.createOpts.Open = c.flags.open
		if c.flags.admit != "" {
			c.createOpts.Admit = strings.Split(c.flags.admit, ",")
		}
	case "rejoin":
		if (len(args) == 1) == (c.flags.id != "") {
			return errors.New("name a GROUP or give --id HEX, not both")
		}
		if c.flags.id != "" {
			if c.groupID, err = hex.DecodeString(c.flags.id); err != nil || len(c.groupID) == 0 {
				return fmt.Errorf("--id %q: want the group id in hex", c.flags.id)
			}
		}
	}
	return nil
}

// open opens the state directory for a command.
func (c *clientRun) open() (*agent.Agent, error) { return agent.Open(c.ctx, c.opts) }

// print prints one result: v as a JSON line with --json, else text.
func (c *clientRun) print(text string, v any) error {
	if !c.flags.json {
		_, err := fmt.Fprintln(c.stdout, text)
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("mls: client: %w", err)
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", data)
	return err
}

// printEvents prints events one per line; in text, warnings go to stderr.
func (c *clientRun) printEvents(events []agent.Event) error {
	for _, e := range events {
		if e.Kind == agent.EventWarning && !c.flags.json {
			fmt.Fprintf(c.stderr, "mls: client: %s\n", e)
			continue
		}
		if err := c.print(e.String(), e); err != nil {
			return err
		}
	}
	return nil
}

// withAgent opens the state directory, runs f and closes it.
func (c *clientRun) withAgent(f func(a *agent.Agent) error) error {
	a, err := c.open()
	if err != nil {
		return err
	}
	defer a.Close()
	return f(a)
}

// events runs f with the state directory open and prints the events it
// returns (also when it fails).
func (c *clientRun) events(f func(a *agent.Agent) ([]agent.Event, error)) error {
	return c.withAgent(func(a *agent.Agent) error {
		events, err := f(a)
		return errors.Join(err, c.printEvents(events))
	})
}

func (c *clientRun) init(args []string) error {
	a, err := agent.Init(c.ctx, c.opts, args[0], c.suite)
	if err != nil {
		return err
	}
	defer a.Close()
	return c.print(fmt.Sprintf("initialized %s (%v) in %s\nCA fingerprint: %s", a.Name(), a.Suite(), c.opts.Dir, a.CAFingerprint()),
		map[string]any{"client": a.Name(), "suite": uint16(a.Suite()), "dir": c.opts.Dir, "ca_fingerprint": a.CAFingerprint()})
}

func (c *clientRun) create(args []string) error {
	return c.withAgent(func(a *agent.Agent) error {
		if err := a.Create(c.ctx, args[0], &c.createOpts); err != nil {
			return err
		}
		groups, err := a.Groups()
		if err != nil {
			return err
		}
		gid := ""
		for _, g := range groups {
			if g.Group == args[0] && g.Status == agent.StatusActive.String() {
				gid = g.GroupID
			}
		}
		return c.print("created "+args[0], map[string]string{"group": args[0], "group_id": gid})
	})
}

func (c *clientRun) add(args []string) error {
	return c.events(func(a *agent.Agent) ([]agent.Event, error) { return a.Add(c.ctx, args[0], args[1:]...) })
}

func (c *clientRun) remove(args []string) error {
	return c.events(func(a *agent.Agent) ([]agent.Event, error) { return a.Remove(c.ctx, args[0], args[1:]...) })
}

func (c *clientRun) update(args []string) error {
	return c.events(func(a *agent.Agent) ([]agent.Event, error) { return a.Update(c.ctx, args[0]) })
}

func (c *clientRun) leave(args []string) error {
	return c.events(func(a *agent.Agent) ([]agent.Event, error) { return a.Leave(c.ctx, args[0]) })
}

func (c *clientRun) send(args []string) error {
	return c.events(func(a *agent.Agent) ([]agent.Event, error) {
		return a.Send(c.ctx, args[0], strings.Join(args[1:], " "))
	})
}

func (c *clientRun) join(args []string) error {
	return c.events(func(a *agent.Agent) ([]agent.Event, error) {
		joined, warnings, err := a.Join(c.ctx)
		var events []agent.Event
		for _, g := range joined {
			events = append(events, agent.Event{Kind: agent.EventJoined, Group: g})
		}
		if err == nil && len(joined) == 0 && len(warnings) == 0 {
			fmt.Fprintf(c.stderr, "mls client join: no Welcome pending for %s (a member adds it with 'mls client add GROUP %s')\n", a.Name(), a.Name())
		}
		return append(events, warnings...), err
	})
}

// recv prints each group's events before they are deleted (Agent.Deliver).
func (c *clientRun) recv(args []string) error {
	return c.withAgent(func(a *agent.Agent) error {
		group := ""
		if len(args) == 1 {
			group = args[0]
		}
		return a.Deliver(c.ctx, group, c.printEvents)
	})
}

func (c *clientRun) info(args []string) error {
	return c.withAgent(func(a *agent.Agent) error {
		s, err := a.Info(c.ctx, args[0])
		if s == nil {
			return err
		}
		text := fmt.Sprintf("group: %s\ngroup_id: %s\nepoch: %d\nmembers: %s\nepoch_authenticator: %s\nfingerprints: %s",
			s.Group, s.GroupID, s.Epoch, strings.Join(s.Members, " "), s.EpochAuthenticator, strings.Join(s.Fingerprints, " "))
		if perr := c.print(text, s); perr != nil {
			return perr
		}
		if err != nil {
			return fmt.Errorf("mls: client: local state, not synced: %w", err)
		}
		return nil
	})
}

func (c *clientRun) groups(args []string) error {
	return c.withAgent(func(a *agent.Agent) error {
		groups, err := a.Groups()
		if err != nil {
			return err
		}
		for _, g := range groups {
			text := fmt.Sprintf("%s %s epoch %d", g.Group, g.Status, g.Epoch)
			if g.Unread > 0 {
				text += fmt.Sprintf(" (%d unread)", g.Unread)
			}
			if err := c.print(text, g); err != nil {
				return err
			}
		}
		return nil
	})
}

// rejoin joins a group again by external commit: the group named
// args[0], or the one of --id.
func (c *clientRun) rejoin(args []string) error {
	return c.withAgent(func(a *agent.Agent) error {
		name, err := "", error(nil)
		if len(args) == 1 {
			name, err = args[0], a.Rejoin(c.ctx, args[0])
		} else {
			name, err = a.RejoinID(c.ctx, c.groupID)
		}
		if err != nil {
			return err
		}
		return c.print("rejoined "+name, agent.Event{Kind: agent.EventJoined, Group: name})
	})
}
