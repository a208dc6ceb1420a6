package signal

import (
	"net/http"

	"github.com/livekit-mock/livekit-mock/internal/auth"
)

// AgentEndpoint is GET /agent, where LiveKit Agents workers connect. It owns
// the checks the real server makes before the upgrade: a token with the
// video.agent grant in the Authorization header (or access_token), 401
// without it, 404 for a GET that is no upgrade, then the hub's connection
// caps (429/503).
type AgentEndpoint struct {
	hub      *Hub
	verifier *auth.Verifier
	dialect  Dialect
	o        AgentOptions
}

// NewAgentEndpoint builds /agent on hub with the worker dialect of o.
func NewAgentEndpoint(hub *Hub, verifier *auth.Verifier, o AgentOptions) *AgentEndpoint {
	d := AgentDialect(o)
	return &AgentEndpoint{hub: hub, verifier: verifier, dialect: d, o: d.(*agentDialect).o}
}

// Serve checks a worker's upgrade and runs its session; a refusal is the
// real server's plain-text answer.
func (e *AgentEndpoint) Serve(w http.ResponseWriter, r *http.Request, ip string) *Refusal {
	log := e.o.Logger
	tok, err := extractToken(r)
	if err != nil {
		return plainRefusal(err)
	}
	var claims *auth.Claims
	if tok != "" {
		if claims, err = e.verifier.Verify(tok); err != nil {
			log.Warn("agent worker: bad token", "ip", ip, "code", string(auth.CodeOf(err)))
			if auth.CodeOf(err) == auth.CodeUnknownKey {
				return &Refusal{Status: http.StatusUnauthorized, Body: bodyInvalidAPIKey}
			}
			return &Refusal{Status: http.StatusUnauthorized, Body: bodyInvalidToken + err.Error()}
		}
	}
	if claims == nil || claims.Video == nil || !claims.Video.Agent {
		return &Refusal{Status: http.StatusUnauthorized, Body: bodyNoPermissions}
	}
	if !IsWebSocketUpgrade(r) {
		return &Refusal{Status: http.StatusNotFound}
	}
	adm, err := e.hub.Admit(ip)
	if err != nil {
		log.Warn("agent worker: connection refused", "ip", ip, "reason", err.Error())
		return admissionRefusal(err, true)
	}
	if err := e.hub.Serve(w, r, Request{Admission: adm, Dialect: e.dialect}); err != nil && !IsHandshakeError(err) {
		return admissionRefusal(err, true)
	}
	return nil
}
