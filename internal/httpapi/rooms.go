package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// roomJSON is the old mock's room shape (SPEC §4).
type roomJSON struct {
	Name               string            `json:"name"`
	Sid                string            `json:"sid"`
	Participants       []string          `json:"participants"`
	CreatedAt          string            `json:"createdAt"`
	NumParticipants    int               `json:"numParticipants"`
	Metadata           string            `json:"metadata"`
	ParticipantDetails []participantJSON `json:"participantDetails"`
}

type participantJSON struct {
	Sid string `json:"sid,omitempty"` // left out for anonymous callers in production

	Identity string      `json:"identity"`
	Name     string      `json:"name"`
	Metadata string      `json:"metadata"`
	JoinedAt string      `json:"joinedAt"`
	Tracks   []trackJSON `json:"tracks"`
	// Added beside the old mock's fields (SPEC §1: add, never rename).
	Attributes map[string]string `json:"attributes"`
	State      string            `json:"state"`
	Dialect    string            `json:"dialect"`
	Kind       string            `json:"kind,omitempty"`
}

type trackJSON struct {
	Sid    string `json:"sid"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Source string `json:"source"`
	Muted  bool   `json:"muted"`
}

func roomOf(ri rooms.RoomInfo) roomJSON {
	out := roomJSON{
		Name: ri.Name, Sid: ri.Sid, CreatedAt: timestamp(ri.CreatedAt), Metadata: ri.Metadata,
		NumParticipants:    len(ri.Participants),
		Participants:       make([]string, 0, len(ri.Participants)),
		ParticipantDetails: make([]participantJSON, 0, len(ri.Participants)),
	}
	for _, p := range ri.Participants {
		out.Participants = append(out.Participants, p.Identity)
		pj := participantJSON{
			Sid: p.Sid, Identity: p.Identity, Name: p.Name, Metadata: p.Metadata,
			JoinedAt: timestamp(p.JoinedAt), Tracks: make([]trackJSON, 0, len(p.Tracks)),
			Attributes: p.Attributes, State: p.State.String(), Dialect: p.Dialect, Kind: p.Kind,
		}
		if pj.Attributes == nil {
			pj.Attributes = map[string]string{}
		}
		for _, t := range p.Tracks {
			pj.Tracks = append(pj.Tracks, trackJSON{Sid: t.Sid, Kind: t.Kind, Name: t.Name, Source: t.Source, Muted: t.Muted})
		}
		out.ParticipantDetails = append(out.ParticipantDetails, pj)
	}
	return out
}

// withoutParticipantSids returns r without its participants' sids. A
// participant sid names the participant in a resume and in RoomService
// calls; production shows it only to callers with the caller bearer.
func (r roomJSON) withoutParticipantSids() roomJSON {
	details := make([]participantJSON, len(r.ParticipantDetails))
	for i, p := range r.ParticipantDetails {
		p.Sid = ""
		details[i] = p
	}
	r.ParticipantDetails = details
	return r
}

// showSids is callerKnown's answer: nil shows every caller the sids.
type showSids func(*gin.Context) bool

func (f showSids) view(c *gin.Context, r roomJSON) roomJSON {
	if f == nil || f(c) {
		return r
	}
	return r.withoutParticipantSids()
}

// roomGetHandler serves GET /api/rooms/:roomName.
func roomGetHandler(reg *rooms.Registry, show showSids) gin.HandlerFunc {
	return func(c *gin.Context) {
		ri, ok := reg.Get(c.Param("roomName"))
		if !ok {
			abortError(c, codeNotFound, msgRoomNotFound)
			return
		}
		c.JSON(http.StatusOK, show.view(c, roomOf(ri)))
	}
}

// roomListHandler serves GET /api/rooms.
func roomListHandler(reg *rooms.Registry, show showSids) gin.HandlerFunc {
	return func(c *gin.Context) {
		all := reg.List()
		out := make([]roomJSON, 0, len(all))
		for _, ri := range all {
			out = append(out, show.view(c, roomOf(ri)))
		}
		c.JSON(http.StatusOK, gin.H{"rooms": out})
	}
}
