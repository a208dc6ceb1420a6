package signal

import (
	"slices"
	"sync"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// Media forwarding for LiveKit sessions (issue 9; docs/rtc.md, "Media forwarding").
//
// Publishing: a client's add_track gets a TR_ sid; when its media arrives
// on the publisher peer (OnTrack, matched by the track id the client used
// as cid), the source is published to the engine's Forwarder under that sid.
//
// Subscribing follows LiveKit: every other participant's track is wanted
// when the join asked for autoSubscribe, otherwise only the tracks the
// client (subscription) or the server API (EventTrackSubscribed) asks for;
// the canSubscribe grant and the publisher's subscription_permission decide
// whether a wanted track is sent. Where the media goes depends on the mode:
//   - /rtc/v1 (one PeerConnection): onto the client's own peer, which the
//     server only answers. The server sends media_sections_requirement (zero
//     counts when the client's spare recvonly sections suffice); the client
//     offers again and the answer carries the track with stream id
//     "PA_…|TR_…" and mid_to_track_id, replaced whole on every answer.
//   - /rtc (two PeerConnections): onto a subscriber peer the server offers
//     on (offer ids from 1), answered by the client; its candidates travel
//     with target SUBSCRIBER.

// lkMedia is one LiveKit session's share of media forwarding. Its methods
// are called from the reader goroutine (requests), the writer goroutine
// (room events, through lkEncoder) and the peers' callback goroutines.
type lkMedia struct {
	h      *lkHandler
	f      *rtc.Forwarder
	single bool // /rtc/v1: subscriptions ride on the publisher peer
	auto   bool

	mu        sync.Mutex
	closed    bool
	self      string // own PA_ sid, from the join snapshot
	sub       *rtc.Subscriber
	subPeer   *rtc.Peer         // /rtc only
	known     map[string]string // others' track sid → publisher sid
	choice    map[string]bool   // explicit (un)subscriptions by sid
	own       map[string]*ownTrack
	published map[string]bool // own track sids given to the Forwarder
	early     []rtc.TrackInfo // media that came before its add_track

	// /rtc subscriber negotiation: one offer outstanding at a time.
	offerID  uint32
	awaiting bool
	again    bool
}

// ownTrack is one of the participant's add_track requests.
type ownTrack struct {
	cid, sid, kind string
	muted          bool
	hasMedia       bool
}

// startMedia prepares forwarding; it runs in Open before the publisher peer
// exists, and must run before the join or resume whose events lkEncoder
// passes to observe. Without an engine there is no media. A resumed /rtc/v1
// session gets its forwarding back (its kept peer's sources are published
// again under their sids, its subscriptions rebuilt from the snapshot); a
// resumed /rtc session gets none: a new subscriber peer would change the
// DTLS fingerprint under the client's subscriber PeerConnection.
func (h *lkHandler) startMedia() error {
	if h.o.Engine == nil || (h.j.Params.Reconnect && !h.j.Params.SinglePC) {
		return nil
	}
	m := &lkMedia{
		h:         h,
		f:         h.o.Engine.Forwarder(),
		single:    h.j.Params.SinglePC,
		auto:      h.j.Params.AutoSubscribe,
		known:     map[string]string{},
		choice:    map[string]bool{},
		own:       map[string]*ownTrack{},
		published: map[string]bool{},
	}
	if !m.single {
		sp, err := h.o.Engine.NewSubscriberPeer(rtc.Handlers{
			OnICECandidate:      m.subscriberCandidate,
			OnNegotiationNeeded: func(int, int) { m.offer() },
		})
		if err != nil {
			return err
		}
		m.subPeer = sp
	}
	h.media = m
	return nil
}

// onTrack is the publisher peer's OnTrack.
func (h *lkHandler) onTrack(ti rtc.TrackInfo) {
	if m := h.media; m != nil {
		m.mediaArrived(ti)
	}
}

// onNegotiationNeeded is the publisher peer's OnNegotiationNeeded (/rtc/v1):
// ask the client for sections and a new offer.
func (h *lkHandler) onNegotiationNeeded(audios, videos int) {
	h.send(pbwire.MediaSectionsRequirement(uint32(max(audios, 0)), uint32(max(videos, 0))))
}

// stopMedia ends the session's forwarding: its tracks are no longer sent,
// it receives nothing, and its subscriber peer closes.
func (h *lkHandler) stopMedia() {
	m := h.media
	if m == nil {
		return
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	sub, sp, self := m.sub, m.subPeer, m.self
	pubs := make([]string, 0, len(m.published))
	for sid := range m.published {
		pubs = append(pubs, sid)
	}
	m.mu.Unlock()
	for _, sid := range pubs {
		m.f.Unpublish(sid)
	}
	if self != "" {
		m.f.UnpublishAll(self)
	}
	if sub != nil {
		sub.Close()
	}
	if sp != nil {
		_ = sp.Close()
	}
}

// addedTrack records an add_track the room accepted, and publishes media
// that already arrived for it.
func (m *lkMedia) addedTrack(cid string, t rooms.TrackInfo) {
	m.mu.Lock()
	ot := &ownTrack{cid: cid, sid: t.Sid, kind: t.Kind, muted: t.Muted}
	m.own[t.Sid] = ot
	var match *rtc.TrackInfo
	for i, ti := range m.early {
		if ti.ID == cid {
			match = &m.early[i]
			m.early = append(m.early[:i:i], m.early[i+1:]...)
			break
		}
	}
	m.mu.Unlock()
	if match != nil {
		m.publish(ot, *match)
	}
}

// mediaArrived matches a publisher track to its add_track: by the client's
// track id (its cid), else the oldest track of that kind still without
// media.
func (m *lkMedia) mediaArrived(ti rtc.TrackInfo) {
	m.mu.Lock()
	var ot *ownTrack
	for _, t := range m.own {
		if !t.hasMedia && t.cid == ti.ID {
			ot = t
			break
		}
	}
	if ot == nil {
		for _, t := range m.own {
			if !t.hasMedia && t.kind == ti.Kind && (ot == nil || t.sid < ot.sid) {
				ot = t
			}
		}
	}
	if ot == nil {
		if len(m.early) < 16 {
			m.early = append(m.early, ti)
		}
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	m.publish(ot, ti)
}

func (m *lkMedia) publish(ot *ownTrack, ti rtc.TrackInfo) {
	self := m.selfSid()
	if mem := m.h.member.Load(); self == "" && mem != nil {
		self = mem.Sid()
	}
	if self == "" || ti.Source == nil {
		return
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	ot.hasMedia = true
	m.published[ot.sid] = true
	muted := ot.muted
	m.mu.Unlock()
	sid := ot.sid
	m.f.Publish(self, sid, ti.Source, func() { m.h.send(pbwire.TrackSubscribed(sid)) })
	m.f.SetMuted(sid, muted)
}

// observe sees every room event this participant receives (on the writer
// goroutine, in order) and keeps subscriptions and publications in step.
func (m *lkMedia) observe(ev rooms.Event) {
	switch ev.Kind {
	case rooms.EventJoined:
		m.joined(ev)
	case rooms.EventParticipantResumed:
		m.joined(ev)
		m.republish(ev.Participant)
	case rooms.EventTrackPublished:
		if ev.Participant.Sid != m.selfSid() {
			m.learn(ev.Participant.Sid, ev.Track.Sid)
		}
	case rooms.EventTrackUnpublished:
		if ev.Participant.Sid == m.selfSid() {
			m.mu.Lock()
			delete(m.published, ev.Track.Sid)
			delete(m.own, ev.Track.Sid)
			m.mu.Unlock()
			m.f.Unpublish(ev.Track.Sid)
			return
		}
		m.forget(ev.Track.Sid)
	case rooms.EventTrackMuted:
		if ev.Participant.Sid == m.selfSid() {
			m.mu.Lock()
			if ot := m.own[ev.Track.Sid]; ot != nil {
				ot.muted = ev.Track.Muted
			}
			m.mu.Unlock()
			m.f.SetMuted(ev.Track.Sid, ev.Track.Muted)
		}
	case rooms.EventParticipantLeft:
		for _, t := range ev.Participant.Tracks {
			m.forget(t.Sid)
		}
		m.f.UnpublishAll(ev.Participant.Sid)
	case rooms.EventParticipantUpdated:
		if ev.Participant.Sid == m.selfSid() {
			if sub := m.subscriber(); sub != nil {
				sub.SetAllowed(ev.Participant.Permission.CanSubscribe)
			}
		}
	case rooms.EventTrackSubscribed, rooms.EventTrackUnsubscribed:
		m.choose(ev.Track.Sid, ev.Kind == rooms.EventTrackSubscribed)
	}
}

func (m *lkMedia) selfSid() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.self
}

func (m *lkMedia) subscriber() *rtc.Subscriber {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sub
}

// joined creates the subscriber from the join snapshot and wants the
// tracks already in the room.
func (m *lkMedia) joined(ev rooms.Event) {
	peer := m.h.peer
	m.mu.Lock()
	if !m.single {
		peer = m.subPeer
	}
	if m.closed || m.sub != nil || peer == nil {
		m.mu.Unlock()
		return
	}
	m.self = ev.Participant.Sid
	m.sub = m.f.NewSubscriber(ev.Participant.Sid, ev.Participant.Identity, peer,
		ev.Participant.Permission.CanSubscribe, rtc.SubscriberHandlers{
			OnSubscribed: func(pub, track string) { m.h.send(pbwire.StreamState(pub, track, true)) },
			OnPermission: func(pub, track string, ok bool) {
				m.h.send(pbwire.SubscriptionPermissionUpdate(pub, track, ok))
			},
		})
	m.mu.Unlock()
	if ev.Room == nil {
		return
	}
	for _, p := range ev.Room.Participants {
		for _, t := range p.Tracks {
			m.learn(p.Sid, t.Sid)
		}
	}
}

// republish gives the Forwarder again the media of a resumed participant's
// kept peer, under the sids it had before the drop.
func (m *lkMedia) republish(self rooms.ParticipantInfo) {
	peer := m.h.peer
	if peer == nil {
		return
	}
	for _, src := range peer.Sources() {
		sid := src.PublishedAs()
		i := slices.IndexFunc(self.Tracks, func(t rooms.TrackInfo) bool { return t.Sid == sid })
		if sid == "" || i < 0 {
			continue
		}
		t := self.Tracks[i]
		ot := &ownTrack{sid: sid, kind: t.Kind, muted: t.Muted}
		m.mu.Lock()
		m.own[sid] = ot
		m.mu.Unlock()
		m.publish(ot, rtc.TrackInfo{Kind: t.Kind, Source: src})
	}
}

// learn notes another participant's track and wants it if the rules say so.
func (m *lkMedia) learn(publisherSid, trackSid string) {
	m.mu.Lock()
	m.known[trackSid] = publisherSid
	m.mu.Unlock()
	m.apply(trackSid)
}

// forget drops a track that is gone.
func (m *lkMedia) forget(trackSid string) {
	m.mu.Lock()
	delete(m.known, trackSid)
	delete(m.choice, trackSid)
	sub := m.sub
	m.mu.Unlock()
	if sub != nil {
		sub.Unwant(trackSid)
	}
}

// choose records an explicit (un)subscription by the client or the server.
func (m *lkMedia) choose(trackSid string, subscribe bool) {
	m.mu.Lock()
	m.choice[trackSid] = subscribe
	m.mu.Unlock()
	m.apply(trackSid)
}

// apply wants or drops one known track: the explicit choice wins, then
// autoSubscribe.
func (m *lkMedia) apply(trackSid string) {
	m.mu.Lock()
	pub, known := m.known[trackSid]
	want, chosen := m.choice[trackSid]
	if !chosen {
		want = m.auto
	}
	sub := m.sub
	m.mu.Unlock()
	if sub == nil || !known {
		return
	}
	if want {
		sub.Want(pub, trackSid)
	} else {
		sub.Unwant(trackSid)
	}
}

// permissions applies the participant's subscription_permission to its
// tracks.
func (m *lkMedia) permissions(frame []byte) {
	p, err := pbwire.DecodeSubscriptionPermission(frame)
	mem := m.h.member.Load()
	if err != nil || mem == nil {
		return
	}
	rules := rtc.Permissions{AllParticipants: p.AllParticipants}
	for _, tp := range p.TrackPermissions {
		rules.Allow = append(rules.Allow, rtc.PermissionRule{
			ParticipantSID:      tp.ParticipantSID,
			ParticipantIdentity: tp.ParticipantIdentity,
			AllTracks:           tp.AllTracks,
			TrackSIDs:           tp.TrackSIDs,
		})
	}
	m.f.SetPermissions(mem.Sid(), rules)
}

// subscriberCandidate trickles a subscriber-peer candidate (/rtc).
func (m *lkMedia) subscriberCandidate(candidateInit string) {
	r, err := pbwire.Trickle(candidateInit, pbwire.TargetSubscriber)
	if err != nil {
		return
	}
	m.h.send(r)
}

// offer sends the subscriber peer's next offer, or notes that one is due
// once the outstanding one is answered.
func (m *lkMedia) offer() {
	m.mu.Lock()
	if m.closed || m.subPeer == nil {
		m.mu.Unlock()
		return
	}
	if m.awaiting {
		m.again = true
		m.mu.Unlock()
		return
	}
	m.awaiting = true
	m.offerID++
	id, sp := m.offerID, m.subPeer
	m.mu.Unlock()
	sdp, mids, err := sp.CreateOffer()
	if err != nil {
		m.h.log.Debug("livekit: subscriber offer failed", "err", err)
		m.mu.Lock()
		m.awaiting = false
		m.mu.Unlock()
		return
	}
	m.h.send(pbwire.Offer(sdp, id, mids))
}

// answer applies the client's answer to the subscriber peer's offer (Rust
// answers with id 0, JS with the offer's id).
func (m *lkMedia) answer(sd pbwire.SessionDescription) {
	m.mu.Lock()
	sp := m.subPeer
	m.mu.Unlock()
	if sp == nil {
		return
	}
	if err := sp.HandleAnswer(sd.SDP); err != nil {
		m.h.log.Debug("livekit: subscriber answer ignored", "err", err)
	}
	m.mu.Lock()
	m.awaiting = false
	again := m.again
	m.again = false
	m.mu.Unlock()
	if again {
		m.offer()
	}
}

// subscriberTrickle applies a client candidate for its subscriber peer.
func (m *lkMedia) subscriberTrickle(candidateInit string) {
	m.mu.Lock()
	sp := m.subPeer
	m.mu.Unlock()
	if sp == nil {
		return
	}
	if err := sp.AddICECandidate(candidateInit); err != nil {
		m.h.log.Debug("livekit: bad subscriber candidate ignored", "err", err)
	}
}
