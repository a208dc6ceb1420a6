package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/livekit-mock/livekit-mock/internal/cluster"
	"github.com/livekit-mock/livekit-mock/internal/lkproto"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Several instances (SPEC §12): what /health, /stats, /metrics and
// /api/rooms add when REDIS_URL is set. Without it Deps.Cluster is nil and
// none of this runs.

// ClusterView is what the HTTP layer needs of internal/cluster.
type ClusterView interface {
	InstanceID() string
	Status() cluster.Status
	// RemoteRooms returns the rooms the other live instances host.
	RemoteRooms(ctx context.Context) ([]cluster.Room, error)
	// Route claims room for this instance unless another holds it, and
	// returns "" (serve here) or the home instance's URL (relay there).
	Route(ctx context.Context, room string) string
	// HomeURL returns the URL of the other instance that holds room's
	// claim, "" when none does (claiming nothing).
	HomeURL(ctx context.Context, room string) string
}

// ClusterReport builds what this instance publishes at every heartbeat: its
// figures and its rooms, rendered as /api/rooms renders them so that other
// instances can answer for them.
func ClusterReport(reg *rooms.Registry, figs Figures, conns ConnCounter, workers AgentsView) func() cluster.Report {
	return func() cluster.Report {
		var r cluster.Report
		if workers != nil { // the kinds of agent worker this instance has
			for _, w := range workers.Workers() {
				k := cluster.AgentKey{Name: w.AgentName, Type: int32(w.Type)}
				if !slices.Contains(r.Agents, k) {
					r.Agents = append(r.Agents, k)
				}
			}
		}
		if figs != nil {
			s := figs.Snapshot()
			r.Figures = cluster.Figures{TokensTotal: s.TokensTotal, Validations: s.Validations,
				Requests: s.Requests, Errors: s.Errors, RateLimited: s.RateLimited}
		}
		if conns != nil {
			r.Figures.Connections = conns.Connections()
		}
		if reg == nil {
			return r
		}
		for _, ri := range reg.List() {
			doc, err := json.Marshal(roomOf(ri))
			if err != nil {
				continue
			}
			lk, err := protojson.Marshal(lkproto.Room(ri))
			if err != nil {
				continue
			}
			r.Rooms = append(r.Rooms, cluster.Room{Name: ri.Name, Sid: ri.Sid, Participants: len(ri.Participants), Doc: doc, LiveKit: lk})
			r.Figures.Rooms++
			r.Figures.Participants += len(ri.Participants)
		}
		return r
	}
}

// clusterRoomJSON is a room of /api/rooms with the instance that hosts it.
type clusterRoomJSON struct {
	roomJSON
	Instance string `json:"instance"`
}

// remoteRooms decodes the directory's rooms of the other instances.
func (a *api) remoteRooms(ctx context.Context) []clusterRoomJSON {
	list, _ := a.Cluster.RemoteRooms(ctx)
	out := make([]clusterRoomJSON, 0, len(list))
	for _, rm := range list {
		var rj roomJSON
		if json.Unmarshal(rm.Doc, &rj) != nil {
			continue
		}
		out = append(out, clusterRoomJSON{roomJSON: rj, Instance: rm.Instance})
	}
	return out
}

// clusterRoomList serves GET /api/rooms: this instance's rooms, then those
// of the other live instances from the directory.
func (a *api) clusterRoomList(reg *rooms.Registry, show showSids) gin.HandlerFunc {
	return func(c *gin.Context) {
		self := a.Cluster.InstanceID()
		local := reg.List()
		out := make([]clusterRoomJSON, 0, len(local))
		for _, ri := range local {
			out = append(out, clusterRoomJSON{roomJSON: roomOf(ri), Instance: self})
		}
		out = append(out, a.remoteRooms(c.Request.Context())...)
		for i := range out {
			out[i].roomJSON = show.view(c, out[i].roomJSON)
		}
		c.JSON(http.StatusOK, gin.H{"rooms": out})
	}
}

// clusterRoomGet serves GET /api/rooms/:roomName from this instance, or
// asks the room's home instance when another one holds it (its answer is
// current, where the directory is as old as the last heartbeat), or else
// answers from the directory.
func (a *api) clusterRoomGet(reg *rooms.Registry, show showSids) gin.HandlerFunc {
	return func(c *gin.Context) {
		name := c.Param("roomName")
		if ri, ok := reg.Get(name); ok {
			c.JSON(http.StatusOK, clusterRoomJSON{roomJSON: show.view(c, roomOf(ri)), Instance: a.Cluster.InstanceID()})
			return
		}
		if c.Request.Header.Get(relayHeader) != "" {
			abortError(c, codeNotFound, msgRoomNotFound)
			return
		}
		if home := a.remoteHome(c, name, false); home != "" && a.forwardToHome(c, home, nil) {
			return
		}
		for _, rj := range a.remoteRooms(c.Request.Context()) {
			if rj.Name == name {
				rj.roomJSON = show.view(c, rj.roomJSON)
				c.JSON(http.StatusOK, rj)
				return
			}
		}
		abortError(c, codeNotFound, msgRoomNotFound)
	}
}

// clusterHealth is the "cluster" object of /health.
func (a *api) clusterHealth() gin.H {
	s := a.Cluster.Status()
	h := gin.H{
		"redis":     s.Redis,
		"instance":  s.InstanceID,
		"instances": nonNil(s.Instances),
		"totals":    gin.H{"rooms": s.Totals.Rooms, "participants": s.Totals.Participants, "connections": s.Totals.Connections},
	}
	if s.Error != "" {
		h["error"] = s.Error
	}
	return h
}

// clusterStats is the "cluster" object of /stats: the figures summed over
// every live instance (as of the last heartbeat).
func (a *api) clusterStats() gin.H {
	s := a.Cluster.Status()
	t := s.Totals
	h := gin.H{
		"redis":     s.Redis,
		"instance":  s.InstanceID,
		"instances": nonNil(s.Instances),
		"totals": gin.H{
			"tokens_generated": t.TokensTotal,
			"validations":      t.Validations,
			"requests":         t.Requests,
			"errors":           t.Errors,
			"rate_limited":     t.RateLimited,
			"rooms":            t.Rooms,
			"participants":     t.Participants,
			"connections":      t.Connections,
		},
	}
	if s.Error != "" {
		h["error"] = s.Error
	}
	return h
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// clusterMetrics serves /metrics with one more family saying which instance
// answered. The figures stay this instance's own. The text format is asked
// for, uncompressed, so that the line can be appended.
func (a *api) clusterMetrics(c *gin.Context) {
	r := c.Request.Clone(c.Request.Context())
	r.Header.Del("Accept-Encoding")
	r.Header.Set("Accept", "text/plain; version=0.0.4")
	w := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	a.Figures.Handler().ServeHTTP(w, r)
	for k, v := range w.header {
		c.Writer.Header()[k] = v
	}
	if w.status == http.StatusOK && strings.HasPrefix(w.header.Get("Content-Type"), "text/plain") {
		id := a.Cluster.InstanceID()
		w.body.WriteString("# HELP livekit_mock_instance_info Always 1; instance_id says which instance of the cluster answered.\n")
		w.body.WriteString("# TYPE livekit_mock_instance_info gauge\n")
		w.body.WriteString(`livekit_mock_instance_info{instance_id="` + escapeLabel(id) + `"} 1` + "\n")
		c.Writer.Header().Del("Content-Length")
	}
	c.Writer.Header().Set("Content-Length", strconv.Itoa(w.body.Len()))
	c.Writer.WriteHeader(w.status)
	_, _ = c.Writer.Write(w.body.Bytes())
}

// escapeLabel quotes a Prometheus label value.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// bufferedResponse holds a handler's answer so that it can be extended.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(code int)        { b.status = code }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
