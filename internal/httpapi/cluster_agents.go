package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/agents"
	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/cluster"
)

// Agents across instances (SPEC §12, §13): a job no worker of the room's
// home instance can take is offered, over HTTP, to an instance whose
// heartbeat says it has a matching worker. That instance offers it to its
// workers, assigns it there (the agent joins through that instance, which
// relays to the home) and is told when the home ends the job. The calls
// carry a LiveKit token an instance mints for them (instanceToken).

const (
	pathAgentOffer     = "/__cluster/agents/offer"
	pathAgentTerminate = "/__cluster/agents/terminate"
	// agentOfferWait bounds one forwarded offer: its instance may ask
	// several workers 10 s each.
	agentOfferWait = 45 * time.Second
	agentCallTTL   = time.Minute
)

// instanceIdentity prefixes the identity of the token one instance mints
// for its calls to another.
const instanceIdentity = "instance-"

// instanceToken is the token an instance's calls to another carry: the agent
// and roomAdmin grants under an instance's identity. A worker's own token,
// with the agent grant alone, is not one.
func instanceToken(issuer *auth.Issuer, instanceID string) (string, error) {
	tok, _, err := issuer.Mint(auth.Claims{Identity: instanceIdentity + instanceID,
		Video: &auth.VideoGrant{Agent: true, RoomAdmin: true}}, agentCallTTL)
	return tok, err
}

func isInstanceToken(c *auth.Claims) bool {
	return c.Video != nil && c.Video.Agent && c.Video.RoomAdmin && strings.HasPrefix(c.Identity, instanceIdentity)
}

// AgentPeer is what other instances ask of this one's agents
// (*agents.Dispatcher).
type AgentPeer interface {
	OfferForeign(job agents.Job) (agents.Job, error)
	TerminateForeign(jobID, reason string)
}

type agentTermination struct {
	Job    string `json:"job"`
	Reason string `json:"reason"`
}

// agentPeerRoutes serves the two calls of the other instances.
func agentPeerRoutes(rt *routes, g group, peer AgentPeer, v *auth.Verifier) {
	authorised := func(c *gin.Context) bool {
		tok, err := auth.CheckBearer(c.GetHeader("Authorization"))
		var claims *auth.Claims
		if err == nil {
			claims, err = v.Verify(tok)
		}
		if err != nil || !isInstanceToken(claims) {
			abortError(c, codeUnauthenticated, "an instance's agent token is required")
			return false
		}
		return true
	}
	rt.handle(g, http.MethodPost, pathAgentOffer, func(c *gin.Context) {
		if !authorised(c) {
			return
		}
		_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(agentOfferWait + 5*time.Second))
		var job agents.Job
		if err := json.NewDecoder(io.LimitReader(c.Request.Body, 1<<20)).Decode(&job); err != nil || job.ID == "" {
			abortError(c, codeInvalidArgument, "the body must be a job")
			return
		}
		got, err := peer.OfferForeign(job)
		if err != nil {
			abortError(c, codeNotFound, "no worker here took the job: "+err.Error())
			return
		}
		c.JSON(http.StatusOK, got)
	})
	rt.handle(g, http.MethodPost, pathAgentTerminate, func(c *gin.Context) {
		if !authorised(c) {
			return
		}
		var t agentTermination
		if err := json.NewDecoder(io.LimitReader(c.Request.Body, 1<<16)).Decode(&t); err != nil || t.Job == "" {
			abortError(c, codeInvalidArgument, "the body must be {job, reason}")
			return
		}
		peer.TerminateForeign(t.Job, t.Reason)
		c.Status(http.StatusNoContent)
	})
}

// AgentRemote is the agents.Remote of an instance in a cluster.
func AgentRemote(c *cluster.Cluster, issuer *auth.Issuer) agents.Remote {
	return &agentRemote{c: c, issuer: issuer, client: &http.Client{Timeout: agentOfferWait}}
}

type agentRemote struct {
	c      *cluster.Cluster
	issuer *auth.Issuer
	client *http.Client
}

func (r *agentRemote) call(ctx context.Context, url string, body any) (*http.Response, error) {
	tok, err := instanceToken(r.issuer, r.c.InstanceID())
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	return r.client.Do(req)
}

func (r *agentRemote) Offer(ctx context.Context, job agents.Job) (agents.Job, string, error) {
	for _, in := range r.c.AgentInstances(ctx, job.AgentName, int32(job.Type)) {
		resp, err := r.call(ctx, in.URL+pathAgentOffer, job)
		if err != nil {
			continue
		}
		var got agents.Job
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && err == nil {
			return got, in.URL, nil
		}
	}
	return agents.Job{}, "", errors.New("no instance's worker took the job")
}

func (r *agentRemote) Terminate(ctx context.Context, instance, jobID, reason string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := r.call(ctx, instance+pathAgentTerminate, agentTermination{Job: jobID, Reason: reason})
	if err == nil {
		resp.Body.Close()
	}
}
