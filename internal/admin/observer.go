package admin

import (
	"encoding/base64"
	"unicode/utf8"

	"github.com/livekit-mock/livekit-mock/internal/journal"
	"github.com/livekit-mock/livekit-mock/internal/rooms"
)

// Observer returns the rooms.Observer that journals room events with SPEC
// §10's type names. Data payloads are kept only when the journal allows
// them (JOURNAL_PAYLOADS).
func Observer(j *journal.Journal) rooms.Observer {
	return rooms.ObserverFunc(func(ev rooms.Event) { observe(j, ev) })
}

// Fanout returns an Observer that tells each of obs in turn (nil ones are
// skipped): the registry takes one observer, several want its events.
func Fanout(obs ...rooms.Observer) rooms.Observer {
	return rooms.ObserverFunc(func(ev rooms.Event) {
		for _, o := range obs {
			if o != nil {
				o.Observe(ev)
			}
		}
	})
}

func trackDetail(p rooms.ParticipantInfo, t rooms.TrackInfo) map[string]any {
	return map[string]any{
		"participantSid": p.Sid, "trackSid": t.Sid, "kind": t.Kind, "name": t.Name, "source": t.Source, "muted": t.Muted,
	}
}

func observe(j *journal.Journal, ev rooms.Event) {
	p := ev.Participant
	room, who := ev.RoomName, p.Identity
	switch ev.Kind {
	case rooms.EventRoomStarted:
		j.Record(journal.TypeRoomStarted, room, "", map[string]any{"roomSid": ev.RoomSid})
	case rooms.EventRoomClosed:
		j.Record(journal.TypeRoomFinished, room, "", map[string]any{"roomSid": ev.RoomSid, "reason": string(ev.Reason)})
	case rooms.EventParticipantJoined:
		j.Record(journal.TypeParticipantJoined, room, who, map[string]any{
			"participantSid": p.Sid, "name": p.Name, "dialect": p.Dialect, "kind": p.Kind, "state": p.State.String(),
		})
	case rooms.EventParticipantLeft:
		j.Record(journal.TypeParticipantLeft, room, who, map[string]any{
			"participantSid": p.Sid, "reason": string(ev.Reason), "dialect": p.Dialect,
		})
	case rooms.EventParticipantResumed:
		j.Record(journal.TypeParticipantResumed, room, who, map[string]any{"participantSid": p.Sid, "dialect": p.Dialect})
	case rooms.EventParticipantUpdated:
		d := map[string]any{
			"participantSid": p.Sid, "name": p.Name, "metadata": p.Metadata, "state": p.State.String(),
		}
		if len(p.Attributes) > 0 {
			attrs := make(map[string]any, len(p.Attributes))
			for k, v := range p.Attributes {
				attrs[k] = v
			}
			d["attributes"] = attrs
		}
		if ev.Reason != "" {
			d["by"] = string(ev.Reason)
		}
		j.Record(journal.TypeMetadataChanged, room, who, d)
	case rooms.EventRoomUpdated:
		md := ""
		if ev.Room != nil {
			md = ev.Room.Metadata
		}
		j.Record(journal.TypeMetadataChanged, room, "", map[string]any{"roomSid": ev.RoomSid, "metadata": md})
	case rooms.EventTrackPublished:
		j.Record(journal.TypeTrackPublished, room, who, trackDetail(p, ev.Track))
	case rooms.EventTrackUnpublished:
		j.Record(journal.TypeTrackUnpublished, room, who, trackDetail(p, ev.Track))
	case rooms.EventTrackMuted:
		j.Record(journal.TypeTrackMuted, room, who, trackDetail(p, ev.Track))
	case rooms.EventDataReceived:
		d := ev.Data
		if d == nil {
			return
		}
		detail := map[string]any{"size": len(d.Payload), "topic": d.Topic, "reliable": d.Reliable}
		if d.Kind != "" {
			detail["kind"] = d.Kind
		}
		if len(d.Destinations) > 0 {
			dest := make([]any, len(d.Destinations))
			for i, s := range d.Destinations {
				dest[i] = s
			}
			detail["destinations"] = dest
		}
		if j.Payloads() && d.IsUserData() {
			if utf8.Valid(d.Payload) {
				detail["payload"] = string(d.Payload)
			} else {
				detail["payload"], detail["encoding"] = base64.StdEncoding.EncodeToString(d.Payload), "base64"
			}
		}
		j.Record(journal.TypeDataSent, room, d.FromIdentity, detail)
	}
}
