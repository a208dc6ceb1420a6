// Package httpapi is the HTTP surface of livekit-mock and the only user of
// gin and rs/cors. routes.go lists every route with its group; errors.go is
// the single error → status table; handlers stay thin.
package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/admin"
	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/config"
	"github.com/livekit-mock/livekit-mock/internal/ids"
	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/names"
	"github.com/livekit-mock/livekit-mock/internal/ratelimit"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/roomservice"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/tokenservice"
)

// Version is the server version reported by /health and to clients. LiveKit
// clients compare it as semver (RPC needs ≥ 1.8.0), so it follows the real
// server release the mock emulates.
const Version = "1.13.5"

// RoomCounter is what /health needs from the room registry.
type RoomCounter interface {
	Counts() (rooms, participants int)
}

// ConnCounter is what /health needs from the WebSocket hub.
type ConnCounter interface {
	Connections() int
}

// Deps is everything the HTTP surface needs, built once by cmd/livekit-mock.
type Deps struct {
	Config   *config.Config
	Logger   *slog.Logger
	Issuer   *auth.Issuer
	Verifier *auth.Verifier
	IDs      *ids.Generator
	Names    names.Policy
	Now      func() time.Time
	Started  time.Time

	// MintLimiter counts /api/livekit/token, ServiceLimiter /token/room and
	// /token/join (SPEC §3.1: one bucket each).
	MintLimiter    ratelimit.Limiter
	ServiceLimiter ratelimit.Limiter

	Rooms RoomCounter
	Conns ConnCounter

	// The /rtc WebSocket (rtc.go) and the room endpoints (rooms.go).
	Registry *rooms.Registry
	Hub      *signal.Hub
	// RTC is /rtc and /rtc/v1 in both dialects (built and closed by the
	// builder); nil: no /rtc route.
	RTC *signal.Endpoint

	// Token service and figures (SPEC §5.3; tokenservice.go, stats.go).
	// Each is optional: New builds what is nil from the fields above.
	TokenService *tokenservice.Service // required
	Figures      Figures               // required
	Signal       SignalState           // nil: /livekit/status reports signalling as not accepting
	Callers      CallerChecker         // production caller bearer (JWT_SECRET); required in production

	// RoomService answers the Twirp RoomService (twirp.go); nil: no /twirp routes.
	RoomService *roomservice.Service
	// AgentDispatch answers the Twirp AgentDispatchService; nil: bad_route.
	AgentDispatch *roomservice.DispatchService
	// Agents feeds GET /__admin/agents (workers, dispatches, jobs); nil: no route.
	Agents AgentsView
	// AgentPeer takes jobs of rooms homed on other instances (with Cluster).
	AgentPeer AgentPeer
	// Agent serves LiveKit Agents workers on GET /agent; nil: 404.
	Agent *signal.AgentEndpoint

	// Test control (SPEC §10; admin.go): the /__admin API when
	// Config.AdminAPI is on, the HTTP fault rules, and the journal fed by the
	// HTTP layer. Each is optional.
	Admin          *admin.Admin
	Journal        *journal.Journal
	AdminHeartbeat time.Duration // SSE heartbeat; default 15 s
	// Concurrent /__admin/events/stream followers per client IP and in all;
	// 0: the defaults (16 and 256).
	AdminStreamsPerIP, AdminStreams int

	// BodyDeadline bounds reading a request body (and, outside streaming
	// routes, writing the answer); default 15 s.
	BodyDeadline time.Duration

	// Cluster is the shared state of several instances (SPEC §12;
	// cluster.go); nil without REDIS_URL.
	Cluster ClusterView
}

type api struct {
	Deps
	streams *streamCaps // SSE followers (admin.go)
	// forwarder asks a room's home instance (cluster_forward.go).
	forwarder *http.Client
}

// timestamp formats t as RFC 3339 in UTC with milliseconds.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
