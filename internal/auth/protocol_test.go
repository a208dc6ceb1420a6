package auth_test

import (
	"testing"
	"time"

	lkauth "github.com/livekit/protocol/auth"

	"github.com/livekit-mock/livekit-mock/internal/auth"
)

// Tokens minted here must pass LiveKit's own Go verifier (protocol v1.51.0,
// the one livekit-server uses), with the grants it reads.
func TestMintedTokensPassLiveKitsVerifier(t *testing.T) {
	iss := auth.NewIssuer("devkey", "secret", time.Now)
	tests := []struct {
		name   string
		claims auth.Claims
	}{
		{"participant", auth.Claims{Identity: "alice", Name: "Alice", Metadata: "m",
			Attributes: map[string]string{"a": "b"},
			Video: &auth.VideoGrant{RoomJoin: true, Room: "r1", CanPublish: auth.Bool(false),
				CanUpdateOwnMetadata: auth.Bool(true), CanPublishSources: []string{"camera"}}}},
		{"admin without identity", auth.Claims{Video: &auth.VideoGrant{RoomAdmin: true, RoomList: true, Room: "r1"}}},
		{"agent with room config", auth.Claims{Identity: "bot", Kind: "agent",
			Video:      &auth.VideoGrant{RoomJoin: true, Room: "r1", Agent: true},
			RoomConfig: []byte(`{"emptyTimeout":30,"agents":[{"agentName":"helper"}]}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _, err := iss.Mint(tt.claims, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := lkauth.ParseAPIToken(tok)
			if err != nil {
				t.Fatal(err)
			}
			if parsed.APIKey() != "devkey" {
				t.Errorf("api key %q", parsed.APIKey())
			}
			_, grants, err := parsed.Verify("secret")
			if err != nil {
				t.Fatalf("LiveKit refused our token: %v", err)
			}
			c := tt.claims
			if c.Identity != "" && grants.Identity != c.Identity {
				t.Errorf("identity %q", grants.Identity)
			}
			if grants.Name != c.Name || grants.Metadata != c.Metadata || grants.Kind != c.Kind {
				t.Errorf("name %q metadata %q kind %q", grants.Name, grants.Metadata, grants.Kind)
			}
			if len(c.Attributes) > 0 && grants.Attributes["a"] != "b" {
				t.Errorf("attributes %v", grants.Attributes)
			}
			v := grants.Video
			if v == nil || v.Room != c.Video.Room || v.RoomJoin != c.Video.RoomJoin || v.RoomAdmin != c.Video.RoomAdmin ||
				v.GetCanPublish() != c.Video.GetCanPublish() || v.GetCanPublishData() != c.Video.GetCanPublishData() ||
				v.GetCanUpdateOwnMetadata() != c.Video.GetCanUpdateOwnMetadata() {
				t.Errorf("video grant %+v", v)
			}
			if c.RoomConfig != nil {
				rc := grants.GetRoomConfiguration()
				if rc == nil || rc.EmptyTimeout != 30 || len(rc.Agents) != 1 || rc.Agents[0].AgentName != "helper" {
					t.Errorf("room config %v", rc)
				}
			}
			if _, _, err := parsed.Verify("other-secret"); err == nil {
				t.Error("LiveKit accepted our token with another secret")
			}
		})
	}
}
