package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// AgentDeps is what GET /agent needs.
type AgentDeps struct {
	Hub        *signal.Hub
	Verifier   *auth.Verifier
	Dispatcher signal.Dispatcher
	NodeID     string // ND_ id in the register answer
	Now        func() time.Time
	Logger     *slog.Logger
}

// AgentHandler serves LiveKit Agents workers on GET /agent (the agent
// group): a token with the video.agent grant in the Authorization header
// (or access_token), checked before the upgrade as the real server does:
// 401 without it, 404 for a GET that is no upgrade, then the hub's
// connection caps (429/503).
func AgentHandler(d AgentDeps) gin.HandlerFunc {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dialect := signal.AgentDialect(signal.AgentOptions{Dispatcher: d.Dispatcher,
		Server: pbwire.ServerInfo{NodeID: d.NodeID}, Now: d.Now, Logger: log})
	return func(c *gin.Context) {
		r := c.Request
		refuse := func(status int, body string) {
			c.Header("Content-Type", "text/plain; charset=utf-8")
			c.AbortWithStatus(status)
			_, _ = c.Writer.WriteString(body)
		}
		tok, err := pbwire.ExtractToken(r.Header, r.URL.Query())
		if err != nil {
			refuseHTTP(c, err, refuse)
			return
		}
		var claims *auth.Claims
		if tok != "" {
			if claims, err = d.Verifier.Verify(tok); err != nil {
				log.Warn("agent worker: bad token", "ip", c.ClientIP(), "code", string(auth.CodeOf(err)))
				if auth.CodeOf(err) == auth.CodeUnknownKey {
					refuse(http.StatusUnauthorized, bodyInvalidAPIKey)
				} else {
					refuse(http.StatusUnauthorized, bodyInvalidToken+err.Error())
				}
				return
			}
		}
		if claims == nil || claims.Video == nil || !claims.Video.Agent {
			refuse(http.StatusUnauthorized, pbwire.BodyNoPermissions)
			return
		}
		if !signal.IsWebSocketUpgrade(r) {
			c.AbortWithStatus(http.StatusNotFound)
			return
		}
		adm, err := d.Hub.Admit(c.ClientIP())
		if err != nil {
			log.Warn("agent worker: connection refused", "ip", c.ClientIP(), "reason", err.Error())
			refuseAdmissionPlain(err, refuse)
			return
		}
		err = d.Hub.Serve(c.Writer, r, signal.Request{Admission: adm, Dialect: dialect})
		switch {
		case err == nil, signal.IsHandshakeError(err):
			c.Abort()
		default:
			refuseAdmissionPlain(err, refuse)
		}
	}
}
