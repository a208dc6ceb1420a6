package httpapi

import (
	"github.com/gin-gonic/gin"
)

// handleHealth is GET /health: the old mock's shape plus connections,
// uptime and version.
func (a *api) handleHealth(c *gin.Context) {
	now := a.Now()
	rooms, participants := 0, 0
	if a.Rooms != nil {
		rooms, participants = a.Rooms.Counts()
	}
	conns := 0
	if a.Conns != nil {
		conns = a.Conns.Connections()
	}
	body := gin.H{
		"status":        "healthy",
		"timestamp":     timestamp(now),
		"rooms":         rooms,
		"participants":  participants,
		"connections":   conns,
		"uptimeSeconds": int64(now.Sub(a.Started).Seconds()),
		"version":       Version,
	}
	if a.Cluster != nil {
		body["cluster"] = a.clusterHealth()
	}
	c.JSON(200, body)
}
