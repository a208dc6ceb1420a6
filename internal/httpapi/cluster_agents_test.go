package httpapi

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/agents"
	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/cluster"
)

// fakePeer counts the jobs other instances offer.
type fakePeer struct{ offers atomic.Int32 }

func (p *fakePeer) OfferForeign(j agents.Job) (agents.Job, error) { p.offers.Add(1); return j, nil }
func (p *fakePeer) TerminateForeign(string, string)               {}

// Only another instance may offer jobs to this one's workers: a worker's own
// token (the agent grant and nothing more) is refused, as is no token; the
// token an instance mints for the call is accepted.
func TestClusterAgentCallsWantAnInstanceToken(t *testing.T) {
	peer := &fakePeer{}
	fc := &fakeCluster{status: cluster.Status{Redis: cluster.StateOK, InstanceID: "b"}}
	s, _ := newClusterServerWith(t, fc, func(d *Deps) { d.AgentPeer = peer })
	issuer := auth.NewIssuer(s.cfg.APIKey, s.cfg.APISecret, time.Now)
	worker, _, err := issuer.Mint(auth.Claims{Identity: "my-worker", Video: &auth.VideoGrant{Agent: true}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	instance, err := instanceToken(issuer, "a")
	if err != nil {
		t.Fatal(err)
	}
	job := `{"ID":"AJ_x","Room":{"Name":"r"}}`
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"a worker's token", worker, http.StatusUnauthorized},
		{"an instance's token", instance, http.StatusOK},
	} {
		hdr := map[string]string{}
		if tc.token != "" {
			hdr["Authorization"] = "Bearer " + tc.token
		}
		if r := s.do(t, http.MethodPost, pathAgentOffer, job, hdr); r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.raw, tc.status)
		}
	}
	if n := peer.offers.Load(); n != 1 {
		t.Errorf("%d offers reached the workers, want the instance's one", n)
	}
}
