package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/names"
)

const tokenUsage = `usage: livekit-mock token <command>

  create [--room R] [--identity I] [--name N] [--metadata M] [--ttl 1h] [--grant G[,G]] [--caller] [--json]
                        print a token signed with LIVEKIT_API_KEY / LIVEKIT_API_SECRET, like 'lk token create'
  verify <jwt>          print a token's claims, or why it is invalid

'livekit-mock token create --help' lists the grants.
`

func tokenCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: tokenUsage}
	}
	if wantsHelp(args) {
		fmt.Fprint(stdout, tokenUsage)
		return nil
	}
	switch args[0] {
	case "create":
		return tokenCreate(args[1:], getenv, stdout, stderr)
	case "verify":
		return tokenVerify(args[1:], getenv, stdout, stderr)
	}
	return exitError{code: 2, msg: fmt.Sprintf("unknown token command %q (create or verify)", args[0])}
}

// keyPair reads the key settings (flags of the serve command are not needed
// here; the environment is what scripts set).
func keyPair(getenv func(string) string) (*config.Config, error) {
	return config.Load(nil, getenv, io.Discard)
}

type grantList []string

func (g *grantList) String() string     { return strings.Join(*g, ",") }
func (g *grantList) Set(s string) error { *g = append(*g, strings.Split(s, ",")...); return nil }

func tokenCreate(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	room := fs.String("room", "", "room name (video.room)")
	identity := fs.String("identity", "", "participant identity (sub)")
	name := fs.String("name", "", "display name (default the identity)")
	metadata := fs.String("metadata", "", "participant metadata")
	ttl := fs.Duration("ttl", time.Hour, "validity")
	caller := fs.Bool("caller", false, "mint a caller bearer for production mode, signed with JWT_SECRET")
	var grants grantList
	fs.Var(&grants, "grant", "grants to set, repeatable or comma-separated: roomJoin, roomCreate, roomList, roomAdmin, roomRecord, canPublish, canSubscribe, canPublishData, canUpdateOwnMetadata, hidden, agent (default with --room: roomJoin,canPublish,canSubscribe,canPublishData; any --grant replaces the whole default; a grant left out is absent from the token, where LiveKit's defaults apply: canPublish, canSubscribe and canPublishData absent still allow)")
	jsonOut := fs.Bool("json", false, "print JSON with the token and its expiry")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: livekit-mock token create [flags]\n\nThe key pair is LIVEKIT_API_KEY / LIVEKIT_API_SECRET from the environment.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	cfg, err := keyPair(getenv)
	if err != nil {
		return exitError{code: 2, msg: err.Error()}
	}
	if *ttl <= 0 || *ttl > 30*24*time.Hour {
		return exitError{code: 2, msg: "--ttl must be between 1s and 720h"}
	}
	if *caller {
		if cfg.JWTSecret == "" {
			return exitError{code: 2, msg: "--caller needs JWT_SECRET"}
		}
		sub := *identity
		if sub == "" {
			sub = "script"
		}
		tok, err := auth.MintCaller(cfg.JWTSecret, sub, *ttl, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		return nil
	}
	policy, _ := names.ParsePolicy(cfg.NamePolicy)
	if *identity == "" {
		*identity = "participant-" + ids.New(nil).UUID()[:8]
	}
	if err := policy.Identity("--identity", *identity); err != nil {
		return exitError{code: 2, msg: err.Error()}
	}
	if *room != "" {
		if err := policy.Room("--room", *room); err != nil {
			return exitError{code: 2, msg: err.Error()}
		}
	}
	if *name == "" {
		*name = *identity
	}
	if len(grants) == 0 && *room != "" {
		grants = grantList{"roomJoin", "canPublish", "canSubscribe", "canPublishData"}
	}
	vg := &auth.VideoGrant{Room: *room}
	for _, g := range grants {
		switch strings.TrimSpace(g) {
		case "roomJoin", "join":
			vg.RoomJoin = true
		case "roomCreate", "create":
			vg.RoomCreate = true
		case "roomList", "list":
			vg.RoomList = true
		case "roomAdmin", "admin":
			vg.RoomAdmin = true
		case "roomRecord":
			vg.RoomRecord = true
		case "canPublish":
			vg.CanPublish = auth.Bool(true)
		case "canSubscribe":
			vg.CanSubscribe = auth.Bool(true)
		case "canPublishData":
			vg.CanPublishData = auth.Bool(true)
		case "canUpdateOwnMetadata":
			vg.CanUpdateOwnMetadata = auth.Bool(true)
		case "hidden":
			vg.Hidden = true
		case "agent":
			vg.Agent = true
		case "":
		default:
			return exitError{code: 2, msg: fmt.Sprintf("unknown grant %q", g)}
		}
	}
	tok, exp, err := auth.NewIssuer(cfg.APIKey, cfg.APISecret, time.Now).Mint(auth.Claims{
		Identity: *identity, Name: *name, Metadata: *metadata, Video: vg,
	}, *ttl)
	if err != nil {
		return err
	}
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(map[string]any{"token": tok, "identity": *identity, "room": *room, "expiresAt": exp.UTC().Format(time.RFC3339)})
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func tokenVerify(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if wantsHelp(args) || helpFlag(args) {
		fmt.Fprintln(stdout, "usage: livekit-mock token verify <jwt>\n\nPrints the token's claims if one of the configured keys (LIVEKIT_API_KEY / LIVEKIT_API_SECRET,\nLIVEKIT_KEYS) signed it and it is valid now; otherwise says why and exits 1.")
		return nil
	}
	if len(args) != 1 {
		return exitError{code: 2, msg: "usage: livekit-mock token verify <jwt>"}
	}
	cfg, err := keyPair(getenv)
	if err != nil {
		return exitError{code: 2, msg: err.Error()}
	}
	claims, err := auth.NewVerifier(cfg.Keys, time.Now).Verify(strings.TrimSpace(args[0]))
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("invalid token (%s): %v", auth.CodeOf(err), err)}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(claims)
}

func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if wantsHelp(args) || helpFlag(args) {
		fmt.Fprintln(stdout, "usage: livekit-mock healthcheck [URL]\n\nExits 0 when the server answers GET /health with 200 within 3 s, 1 otherwise.\nThe server is URL, or $LIVEKIT_MOCK_URL, or http://127.0.0.1:$PORT (PORT default 7880).")
		return nil
	}
	base := getenv("LIVEKIT_MOCK_URL")
	if base == "" {
		port := getenv("PORT")
		if port == "" {
			port = "7880"
		}
		base = "http://127.0.0.1:" + port
	}
	if len(args) > 0 {
		base = args[0]
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/health", nil)
	if err != nil {
		return exitError{code: 1, msg: "unhealthy: " + err.Error()}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exitError{code: 1, msg: "unhealthy: " + err.Error()}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return exitError{code: 1, msg: fmt.Sprintf("unhealthy: /health answered %d", resp.StatusCode)}
	}
	fmt.Fprintln(stdout, "healthy")
	return nil
}
