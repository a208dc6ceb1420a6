package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/httpapi"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/roomservice"
)

// twirpEnv is the HTTP surface with a registry and the RoomService, on a
// real listener.
type twirpEnv struct {
	url    string
	reg    *rooms.Registry
	issuer *auth.Issuer
}

func startTwirp(t *testing.T) *twirpEnv {
	t.Helper()
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Hour, DepartureTimeout: time.Hour, IDs: ids.New(nil)})
	t.Cleanup(reg.Close)
	h, cfg := surface(t, nil, func(d *httpapi.Deps) {
		d.Registry, d.Rooms, d.RoomService = reg, reg, roomservice.New(reg, roomservice.Options{})
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &twirpEnv{url: srv.URL, reg: reg, issuer: auth.NewIssuer(cfg.APIKey, cfg.APISecret, time.Now)}
}

func (e *twirpEnv) token(t *testing.T, g auth.VideoGrant) string {
	t.Helper()
	tok, _, err := e.issuer.Mint(auth.Claims{Video: &g}, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *twirpEnv) admin(t *testing.T, room string) string {
	return e.token(t, auth.VideoGrant{RoomAdmin: true, Room: room})
}

func (e *twirpEnv) creator(t *testing.T) string {
	return e.token(t, auth.VideoGrant{RoomCreate: true, RoomList: true})
}

type twirpReply struct {
	status int
	ctype  string
	body   []byte
}

// post sends a Twirp call with a JSON (or raw) body; token "" sends none.
func (e *twirpEnv) post(t *testing.T, method, token, ctype string, body []byte) twirpReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/twirp/livekit.RoomService/"+method, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) twirpReply {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return twirpReply{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), body: b}
}

// call marshals req as protojson (camelCase, as the Node SDK does).
func (e *twirpEnv) call(t *testing.T, method, token string, req proto.Message) twirpReply {
	t.Helper()
	b, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return e.post(t, method, token, "application/json;charset=UTF-8", b)
}

func (r twirpReply) ok(t *testing.T, into proto.Message) {
	t.Helper()
	if r.status != http.StatusOK || r.ctype != "application/json" {
		t.Fatalf("status %d %q: %s", r.status, r.ctype, r.body)
	}
	if into != nil {
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(r.body, into); err != nil {
			t.Fatalf("answer is not protojson: %v\n%s", err, r.body)
		}
	}
}

// fails checks a Twirp error: status, exactly application/json, code, msg.
func (r twirpReply) fails(t *testing.T, status int, code, msg string) {
	t.Helper()
	var e struct {
		Code string `json:"code"`
		Msg  string `json:"msg"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body is not JSON: %s", r.body)
	}
	if r.status != status || r.ctype != "application/json" || e.Code != code || (msg != "" && e.Msg != msg) {
		t.Errorf("got %d %q %s, want %d application/json code %q msg %q", r.status, r.ctype, r.body, status, code, msg)
	}
}

// member is a participant in the registry whose events the test reads.
type member struct {
	*rooms.Member
	mu     sync.Mutex
	events []rooms.Event
	closed chan rooms.Reason
}

func (m *member) Send(ev rooms.Event) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, ev)
	return true
}

func (m *member) Close(r rooms.Reason) { m.closed <- r }

func (m *member) last() rooms.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events[len(m.events)-1]
}

func (e *twirpEnv) join(t *testing.T, room, identity string) *member {
	t.Helper()
	m := &member{closed: make(chan rooms.Reason, 1)}
	h, err := e.reg.Join(context.Background(), rooms.JoinRequest{
		Room: room, Identity: identity, Permission: rooms.AllPermissions(), Dialect: rooms.DialectJSON, State: rooms.StateActive,
	}, m)
	if err != nil {
		t.Fatal(err)
	}
	m.Member = h
	return m
}

func (m *member) closedWith(t *testing.T) rooms.Reason {
	t.Helper()
	select {
	case r := <-m.closed:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("session was not closed")
		return ""
	}
}

func TestTwirpMethods(t *testing.T) {
	e := startTwirp(t)
	ctx := context.Background()

	// CreateRoom: settings honoured, proto names and defaults in the answer.
	r := e.call(t, "CreateRoom", e.creator(t), &livekit.CreateRoomRequest{Name: "r", EmptyTimeout: 60, DepartureTimeout: 5, MaxParticipants: 3, Metadata: "m0"})
	var room livekit.Room
	r.ok(t, &room)
	if room.Name != "r" || !strings.HasPrefix(room.Sid, "RM_") || room.EmptyTimeout != 60 || room.DepartureTimeout != 5 || room.MaxParticipants != 3 || room.Metadata != "m0" || room.CreationTime == 0 {
		t.Errorf("room = %v", &room)
	}
	if !bytes.Contains(r.body, []byte(`"num_participants":0`)) || !bytes.Contains(r.body, []byte(`"empty_timeout":60`)) {
		t.Errorf("answer should use proto names and show defaults, as the real server: %s", r.body)
	}
	// Again: the same room, settings updated.
	var again livekit.Room
	e.call(t, "CreateRoom", e.creator(t), &livekit.CreateRoomRequest{Name: "r", Metadata: "m1"}).ok(t, &again)
	if again.Sid != room.Sid || again.Metadata != "m1" || again.EmptyTimeout != 60 {
		t.Errorf("second CreateRoom = %v", &again)
	}

	alice, bob := e.join(t, "r", "alice"), e.join(t, "r", "bob")
	track, err := alice.PublishTrack(ctx, rooms.TrackRequest{Kind: rooms.KindVideo, Name: "cam", Source: rooms.SourceCamera})
	if err != nil {
		t.Fatal(err)
	}

	var list livekit.ListRoomsResponse
	e.call(t, "ListRooms", e.creator(t), &livekit.ListRoomsRequest{}).ok(t, &list)
	if len(list.Rooms) != 1 || list.Rooms[0].NumParticipants != 2 || list.Rooms[0].NumPublishers != 1 {
		t.Errorf("ListRooms = %v", &list)
	}
	e.call(t, "ListRooms", e.creator(t), &livekit.ListRoomsRequest{Names: []string{"other"}}).ok(t, &list)
	if len(list.Rooms) != 0 {
		t.Errorf("ListRooms(other) = %v", &list)
	}

	adm := e.admin(t, "r")
	var parts livekit.ListParticipantsResponse
	e.call(t, "ListParticipants", adm, &livekit.ListParticipantsRequest{Room: "r"}).ok(t, &parts)
	if len(parts.Participants) != 2 || parts.Participants[0].Identity != "alice" || len(parts.Participants[0].Tracks) != 1 ||
		parts.Participants[0].Tracks[0].Type != livekit.TrackType_VIDEO || parts.Participants[0].State != livekit.ParticipantInfo_ACTIVE {
		t.Errorf("ListParticipants = %v", &parts)
	}
	var none livekit.ListParticipantsResponse
	e.call(t, "ListParticipants", e.admin(t, "nowhere"), &livekit.ListParticipantsRequest{Room: "nowhere"}).ok(t, &none)
	if len(none.Participants) != 0 {
		t.Errorf("unknown room lists %v", &none)
	}

	var p livekit.ParticipantInfo
	e.call(t, "GetParticipant", adm, &livekit.RoomParticipantIdentity{Room: "r", Identity: "bob"}).ok(t, &p)
	if p.Identity != "bob" || !strings.HasPrefix(p.Sid, "PA_") {
		t.Errorf("GetParticipant = %v", &p)
	}

	e.call(t, "UpdateParticipant", adm, &livekit.UpdateParticipantRequest{
		Room: "r", Identity: "bob", Name: "Bob", Metadata: "md", Attributes: map[string]string{"k": "v"},
		Permission: &livekit.ParticipantPermission{CanSubscribe: true, CanPublishSources: []livekit.TrackSource{livekit.TrackSource_MICROPHONE}},
	}).ok(t, &p)
	if p.Name != "Bob" || p.Metadata != "md" || p.Attributes["k"] != "v" || p.Permission.CanPublish || len(p.Permission.CanPublishSources) != 1 {
		t.Errorf("UpdateParticipant = %v", &p)
	}
	if ev := alice.last(); ev.Kind != rooms.EventParticipantUpdated || ev.Participant.Metadata != "md" {
		t.Errorf("alice saw %v %+v", ev.Kind, ev.Participant)
	}

	var muted livekit.MuteRoomTrackResponse
	e.call(t, "MutePublishedTrack", adm, &livekit.MuteRoomTrackRequest{Room: "r", Identity: "alice", TrackSid: track.Sid, Muted: true}).ok(t, &muted)
	if !muted.Track.GetMuted() || muted.Track.GetSid() != track.Sid {
		t.Errorf("MutePublishedTrack = %v", &muted)
	}
	if ev := bob.last(); ev.Kind != rooms.EventTrackMuted || !ev.Track.Muted {
		t.Errorf("bob saw %v", ev.Kind)
	}

	e.call(t, "UpdateSubscriptions", adm, &livekit.UpdateSubscriptionsRequest{Room: "r", Identity: "bob", TrackSids: []string{track.Sid}}).ok(t, nil)
	if ev := bob.last(); ev.Kind != rooms.EventTrackUnsubscribed || ev.Track.Sid != track.Sid {
		t.Errorf("bob saw %v", ev.Kind)
	}

	topic := "news"
	e.call(t, "SendData", adm, &livekit.SendDataRequest{Room: "r", Data: []byte("hi"), Topic: &topic, DestinationIdentities: []string{"alice"}}).ok(t, nil)
	if ev := alice.last(); ev.Kind != rooms.EventDataReceived || string(ev.Data.Payload) != "hi" || ev.Data.Topic != "news" || ev.Data.FromIdentity != "" || !ev.Data.Reliable {
		t.Errorf("alice saw %v %+v", ev.Kind, ev.Data)
	}
	// A retry with the same nonce is accepted and dropped, as LiveKit does.
	nonce := []byte("0123456789abcdef")
	countData := func() int {
		alice.mu.Lock()
		defer alice.mu.Unlock()
		n := 0
		for _, ev := range alice.events {
			if ev.Kind == rooms.EventDataReceived {
				n++
			}
		}
		return n
	}
	before := countData()
	for range 2 {
		e.call(t, "SendData", adm, &livekit.SendDataRequest{Room: "r", Data: []byte("once"), DestinationIdentities: []string{"alice"}, Nonce: nonce}).ok(t, nil)
	}
	if got := countData() - before; got != 1 {
		t.Errorf("two SendData calls with one nonce delivered %d packets, want 1", got)
	}
	if ev := alice.last(); string(ev.Data.Nonce) != string(nonce) {
		t.Errorf("nonce %q did not reach the room's packet", ev.Data.Nonce)
	}

	e.call(t, "UpdateRoomMetadata", adm, &livekit.UpdateRoomMetadataRequest{Room: "r", Metadata: "m2"}).ok(t, &room)
	if room.Metadata != "m2" {
		t.Errorf("UpdateRoomMetadata = %v", &room)
	}
	if ev := bob.last(); ev.Kind != rooms.EventRoomUpdated || ev.Room.Metadata != "m2" {
		t.Errorf("bob saw %v", ev.Kind)
	}

	e.call(t, "RemoveParticipant", adm, &livekit.RoomParticipantIdentity{Room: "r", Identity: "bob"}).ok(t, nil)
	if got := bob.closedWith(t); got != rooms.ReasonRemoved {
		t.Errorf("bob closed with %q", got)
	}

	e.call(t, "DeleteRoom", e.creator(t), &livekit.DeleteRoomRequest{Room: "r"}).ok(t, nil)
	if got := alice.closedWith(t); got != rooms.ReasonRoomDeleted {
		t.Errorf("alice closed with %q", got)
	}
	if _, ok := e.reg.Get("r"); ok {
		t.Error("room still exists after DeleteRoom")
	}
}

func TestTwirpErrors(t *testing.T) {
	e := startTwirp(t)
	e.join(t, "r", "alice")
	adm := e.admin(t, "r")
	const notFound, unauth = http.StatusNotFound, http.StatusUnauthorized
	wrongSecret, _, _ := auth.NewIssuer("devkey", "not-the-secret", nil).Mint(auth.Claims{Video: &auth.VideoGrant{RoomAdmin: true, Room: "r"}}, time.Minute)
	unknownKey, _, _ := auth.NewIssuer("nokey", "whatever", nil).Mint(auth.Claims{Video: &auth.VideoGrant{RoomAdmin: true, Room: "r"}}, time.Minute)
	join := e.token(t, auth.VideoGrant{RoomJoin: true, Room: "r"})

	tests := []struct {
		name, method, token string
		req                 proto.Message
		status              int
		code, msg           string
	}{
		{"no token", "ListParticipants", "", &livekit.ListParticipantsRequest{Room: "r"}, unauth, "unauthenticated", "permissions denied"},
		{"join grant only", "ListParticipants", join, &livekit.ListParticipantsRequest{Room: "r"}, unauth, "unauthenticated", "permissions denied"},
		{"admin of another room", "GetParticipant", e.admin(t, "x"), &livekit.RoomParticipantIdentity{Room: "r", Identity: "alice"}, unauth, "unauthenticated", "permissions denied"},
		{"admin cannot create", "CreateRoom", adm, &livekit.CreateRoomRequest{Name: "n"}, unauth, "unauthenticated", "permissions denied"},
		{"admin cannot list rooms", "ListRooms", adm, &livekit.ListRoomsRequest{}, unauth, "unauthenticated", "permissions denied"},
		{"admin cannot delete", "DeleteRoom", adm, &livekit.DeleteRoomRequest{Room: "r"}, unauth, "unauthenticated", "permissions denied"},
		{"create cannot admin", "SendData", e.creator(t), &livekit.SendDataRequest{Room: "r"}, unauth, "unauthenticated", "permissions denied"},
		{"unknown room delete", "DeleteRoom", e.creator(t), &livekit.DeleteRoomRequest{Room: "nowhere"}, notFound, "not_found", "requested room does not exist"},
		{"unknown room metadata", "UpdateRoomMetadata", e.admin(t, "nowhere"), &livekit.UpdateRoomMetadataRequest{Room: "nowhere"}, notFound, "not_found", "requested room does not exist"},
		{"unknown room data", "SendData", e.admin(t, "nowhere"), &livekit.SendDataRequest{Room: "nowhere"}, notFound, "not_found", "requested room does not exist"},
		{"unknown participant get", "GetParticipant", adm, &livekit.RoomParticipantIdentity{Room: "r", Identity: "bob"}, notFound, "not_found", "participant does not exist"},
		{"unknown participant remove", "RemoveParticipant", adm, &livekit.RoomParticipantIdentity{Room: "r", Identity: "bob"}, notFound, "not_found", "participant does not exist"},
		{"unknown participant update", "UpdateParticipant", adm, &livekit.UpdateParticipantRequest{Room: "r", Identity: "bob"}, notFound, "not_found", "participant does not exist"},
		{"unknown participant subs", "UpdateSubscriptions", adm, &livekit.UpdateSubscriptionsRequest{Room: "r", Identity: "bob"}, notFound, "not_found", "participant does not exist"},
		{"unknown track", "MutePublishedTrack", adm, &livekit.MuteRoomTrackRequest{Room: "r", Identity: "alice", TrackSid: "TR_x", Muted: true}, notFound, "not_found", "track is not found"},
		{"remote unmute", "MutePublishedTrack", adm, &livekit.MuteRoomTrackRequest{Room: "r", Identity: "alice", TrackSid: "TR_x"}, http.StatusPreconditionFailed, "failed_precondition", "remote unmute not enabled"},
		{"bad nonce", "SendData", adm, &livekit.SendDataRequest{Room: "r", Nonce: []byte("short")}, http.StatusBadRequest, "invalid_argument", "nonce should be 16-bytes or not present, got: 5 bytes"},
		{"no room name", "CreateRoom", e.creator(t), &livekit.CreateRoomRequest{}, http.StatusBadRequest, "invalid_argument", "no room name"},
		{"long room name", "CreateRoom", e.creator(t), &livekit.CreateRoomRequest{Name: strings.Repeat("n", 257)}, http.StatusBadRequest, "invalid_argument", ""},
		{"big metadata", "UpdateRoomMetadata", adm, &livekit.UpdateRoomMetadataRequest{Room: "r", Metadata: strings.Repeat("m", 512<<10+1)}, http.StatusBadRequest, "invalid_argument", ""},
		{"big attributes", "UpdateParticipant", adm, &livekit.UpdateParticipantRequest{Room: "r", Identity: "alice", Attributes: map[string]string{"k": strings.Repeat("v", 64<<10)}}, http.StatusBadRequest, "invalid_argument", ""},
		{"unknown method", "Nope", adm, &livekit.ListRoomsRequest{}, notFound, "bad_route", `no handler for path "/twirp/livekit.RoomService/Nope"`},
		{"unimplemented method", "PerformRpc", adm, &livekit.ListRoomsRequest{}, http.StatusNotImplemented, "unimplemented", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.call(t, tt.method, tt.token, tt.req).fails(t, tt.status, tt.code, tt.msg)
		})
	}

	// A token that fails verification is refused before Twirp, as LiveKit's
	// auth middleware does: 401 in plain text (the Go SDK reports a Twirp
	// "unauthenticated" error from an intermediary), never repeating the token.
	refusals := []struct{ name, token, body string }{
		{"wrong secret", wrongSecret, "invalid token, error: token signature is invalid"},
		{"unknown key", unknownKey, "invalid API key: nokey"},
		{"garbage token", "not.a.jwt", "invalid authorization token"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, "ListRooms", tt.token, &livekit.ListRoomsRequest{})
			if r.status != unauth || !strings.HasPrefix(r.ctype, "text/plain") || !strings.HasPrefix(string(r.body), tt.body) {
				t.Errorf("got %d %q %q, want 401 text/plain %q", r.status, r.ctype, r.body, tt.body)
			}
			if strings.Contains(string(r.body), tt.token) {
				t.Error("the token was repeated")
			}
		})
	}
}

func TestTwirpFraming(t *testing.T) {
	e := startTwirp(t)
	tok := e.creator(t)
	path := "/twirp/livekit.RoomService/ListRooms"

	t.Run("protobuf in, protobuf out", func(t *testing.T) {
		b, _ := proto.Marshal(&livekit.CreateRoomRequest{Name: "pb", Metadata: "x"})
		r := e.post(t, "CreateRoom", tok, "application/protobuf", b)
		if r.status != http.StatusOK || r.ctype != "application/protobuf" {
			t.Fatalf("status %d %q", r.status, r.ctype)
		}
		var room livekit.Room
		if err := proto.Unmarshal(r.body, &room); err != nil || room.Name != "pb" || room.Metadata != "x" {
			t.Errorf("room = %v, %v", &room, err)
		}
	})
	t.Run("snake_case and unknown fields accepted", func(t *testing.T) {
		var room livekit.Room
		e.post(t, "CreateRoom", tok, "application/json", []byte(`{"name":"snake","empty_timeout":7,"futureField":{"a":1}}`)).ok(t, &room)
		if room.EmptyTimeout != 7 {
			t.Errorf("room = %v", &room)
		}
	})

	bad := []struct {
		name, method, ctype, path string
		body                      []byte
		status                    int
		code, msg                 string
	}{
		{"text/plain", http.MethodPost, "text/plain", path, []byte("{}"), 404, "bad_route", `unexpected Content-Type: "text/plain"`},
		{"no content type", http.MethodPost, "", path, []byte("{}"), 404, "bad_route", `unexpected Content-Type: ""`},
		{"GET", http.MethodGet, "application/json", path, nil, 404, "bad_route", `unsupported method "GET" (only POST is allowed)`},
		{"other service", http.MethodPost, "application/json", "/twirp/livekit.Egress/ListEgress", []byte("{}"), 404, "bad_route", ""},
		{"bad JSON", http.MethodPost, "application/json", path, []byte("{"), 400, "malformed", "the json request could not be decoded"},
		{"empty JSON body", http.MethodPost, "application/json", path, nil, 400, "malformed", "the json request could not be decoded"},
		{"wrong field type", http.MethodPost, "application/json", path, []byte(`{"names":"x"}`), 400, "malformed", ""},
		{"bad protobuf", http.MethodPost, "application/protobuf", path, []byte{0xff, 0xff}, 400, "malformed", "the protobuf request could not be decoded"},
		{"over 1 MiB", http.MethodPost, "application/json", path, bytes.Repeat([]byte(" "), 1<<20+1), 413, "malformed", ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.url+tt.path, bytes.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			send(t, req).fails(t, tt.status, tt.code, tt.msg)
		})
	}

	t.Run("chunked body over 1 MiB", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write(bytes.Repeat([]byte(" "), 1<<20+10))
			_ = pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, e.url+path, pr)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		send(t, req).fails(t, 413, "malformed", "")
		_ = pr.Close()
	})

	t.Run("any origin, preflight answered", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, e.url+path, nil)
		req.Header.Set("Origin", "https://elsewhere.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "Authorization, Content-Type")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("preflight %d, ACAO %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
		req, _ = http.NewRequest(http.MethodPost, e.url+path, strings.NewReader("{}"))
		req.Header.Set("Origin", "https://elsewhere.example")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("cross-origin call %d, ACAO %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}

// TestTwirpNumParticipantsLeavesAgentsOut: ListRooms counts participants as
// LiveKit does, without agents (dependent participants).
func TestTwirpNumParticipantsLeavesAgentsOut(t *testing.T) {
	e := startTwirp(t)
	e.join(t, "r", "alice")
	if _, err := e.reg.Join(context.Background(), rooms.JoinRequest{Room: "r", Identity: "agent-1", Kind: "agent", State: rooms.StateActive}, &member{closed: make(chan rooms.Reason, 1)}); err != nil {
		t.Fatal(err)
	}
	r := e.call(t, "ListRooms", e.token(t, auth.VideoGrant{RoomList: true}), &livekit.ListRoomsRequest{})
	var res livekit.ListRoomsResponse
	if err := protojson.Unmarshal(r.body, &res); err != nil || len(res.GetRooms()) != 1 {
		t.Fatalf("ListRooms: %d %s", r.status, r.body)
	}
	if n := res.GetRooms()[0].GetNumParticipants(); n != 1 {
		t.Errorf("num_participants = %d, want 1 (alice; the agent does not count)", n)
	}
}
