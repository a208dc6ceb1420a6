package pbwire

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestExtractToken(t *testing.T) {
	for _, tc := range []struct {
		name     string
		header   string
		query    string
		want     string
		wantBody string
	}{
		{name: "bearer header (rtc-node)", header: "Bearer abc.def.ghi", want: "abc.def.ghi"},
		{name: "query (livekit-client)", query: "access_token=abc.def.ghi", want: "abc.def.ghi"},
		{name: "header wins over query", header: "Bearer from-header", query: "access_token=from-query", want: "from-header"},
		{name: "no token at all", query: "protocol=17", want: ""},
		{name: "basic auth header", header: "Basic dXNlcjpwYXNz", query: "access_token=q", wantBody: BodyBadAuthHeader},
		{name: "lower-case bearer", header: "bearer abc", wantBody: BodyBadAuthHeader},
		{name: "bare token in header", header: "abc.def.ghi", wantBody: BodyBadAuthHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set("Authorization", tc.header)
			}
			q, _ := url.ParseQuery(tc.query)
			got, err := ExtractToken(h, q)
			if tc.wantBody != "" {
				he, ok := err.(*HTTPError)
				if !ok || he.Status != http.StatusUnauthorized || he.Body != tc.wantBody {
					t.Fatalf("err = %v, want 401 %q", err, tc.wantBody)
				}
				if strings.Contains(he.Body, "abc") || strings.Contains(he.Error(), "abc") {
					t.Errorf("refusal echoes the token: %q", he.Error())
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCheckJoin(t *testing.T) {
	good := Claims{Identity: "alice", Room: "r1", HasVideoGrant: true, RoomJoin: true, CanPublish: true}
	with := func(f func(c *Claims)) *Claims { c := good; f(&c); return &c }
	long := strings.Repeat("é", 129) // 258 bytes, 129 characters: LiveKit counts bytes
	for _, tc := range []struct {
		name   string
		claims *Claims
		params JoinParams
		status int
		body   string
	}{
		{name: "ok", claims: &good},
		{name: "no token", claims: nil, status: 401, body: "no permissions to access the room"},
		{name: "token without video grant", claims: with(func(c *Claims) { c.HasVideoGrant = false }), status: 401, body: "no permissions to access the room"},
		{name: "roomJoin false", claims: with(func(c *Claims) { c.RoomJoin = false }), status: 401, body: "permissions denied"},
		{name: "roomJoin false beats empty identity", claims: with(func(c *Claims) { c.RoomJoin = false; c.Identity = "" }), status: 401, body: "permissions denied"},
		{name: "empty identity", claims: with(func(c *Claims) { c.Identity = "" }), status: 400, body: "identity cannot be empty"},
		{name: "empty identity beats empty room", claims: with(func(c *Claims) { c.Identity = ""; c.Room = "" }), status: 400, body: "identity cannot be empty"},
		{name: "identity of 256 bytes", claims: with(func(c *Claims) { c.Identity = strings.Repeat("a", 256) })},
		{name: "identity over 256 bytes", claims: with(func(c *Claims) { c.Identity = long }), status: 400, body: "participant identity length exceeds limits: max length 256"},
		{name: "empty room", claims: with(func(c *Claims) { c.Room = "" }), status: 400, body: "no room name"},
		{name: "room over 256 bytes", claims: with(func(c *Claims) { c.Room = long }), status: 400, body: "room name length exceeds limits: max length 256"},
		{name: "publish-only connection without canPublish", claims: with(func(c *Claims) { c.CanPublish = false }), params: JoinParams{Publish: "x"}, status: 401, body: "no permissions to access the room"},
		{name: "join metadata without canUpdateOwnMetadata", claims: &good, params: JoinParams{Metadata: "m"}, status: 401, body: "no permissions to access the room"},
		{name: "join attributes without canUpdateOwnMetadata", claims: &good, params: JoinParams{Attributes: map[string]string{"a": "b"}}, status: 401, body: "no permissions to access the room"},
		{name: "join metadata with canUpdateOwnMetadata", claims: with(func(c *Claims) { c.CanUpdateOwnMetadata = true }), params: JoinParams{Metadata: "m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			he := CheckJoin(tc.claims, tc.params)
			if tc.status == 0 {
				if he != nil {
					t.Fatalf("refused: %v", he)
				}
				return
			}
			if he == nil || he.Status != tc.status || he.Body != tc.body {
				t.Fatalf("got %v, want %d %q", he, tc.status, tc.body)
			}
		})
	}
}
