package rtc

import (
	"slices"
	"sync"
)

// Forwarder is the selective forwarder of one Engine: it knows every
// published track (by TR_ sid) and every subscriber, and sends a track to a
// subscriber while all of these hold: the subscriber wants it, may subscribe
// at all (canSubscribe), the publisher's permissions allow it, and the
// track's media has arrived. It never transcodes. Safe for concurrent use;
// its callbacks run after its lock is released and must not block.
type Forwarder struct {
	mu     sync.Mutex
	routes map[string]*route       // by track sid
	perms  map[string]*Permissions // by publisher sid; absent: everyone
	subs   map[*Subscriber]struct{}
}

func newForwarder() *Forwarder {
	return &Forwarder{
		routes: map[string]*route{},
		perms:  map[string]*Permissions{},
		subs:   map[*Subscriber]struct{}{},
	}
}

// route is one track: its media, once published, and who receives it.
type route struct {
	trackSID     string
	publisherSID string
	src          *Source
	onSubscribed func()
	notified     bool
	downs        map[*Subscriber]*downTrack
	listens      []*listener // server-side ears, kept while nothing publishes
}

// Permissions are a publisher's subscription rules (LiveKit's
// subscription_permission): everyone, or only the listed subscribers.
type Permissions struct {
	AllParticipants bool
	Allow           []PermissionRule
}

// PermissionRule lets one subscriber, named by sid or identity, receive all
// of the publisher's tracks or only TrackSIDs.
type PermissionRule struct {
	ParticipantSID      string
	ParticipantIdentity string
	AllTracks           bool
	TrackSIDs           []string
}

func (p *Permissions) allows(s *Subscriber, trackSID string) bool {
	if p == nil || p.AllParticipants {
		return true
	}
	for _, r := range p.Allow {
		if (r.ParticipantSID != "" && r.ParticipantSID == s.sid) ||
			(r.ParticipantIdentity != "" && r.ParticipantIdentity == s.identity) {
			if r.AllTracks || slices.Contains(r.TrackSIDs, trackSID) {
				return true
			}
		}
	}
	return false
}

// SubscriberHandlers tell a subscriber's session what changed. All optional.
type SubscriberHandlers struct {
	// OnSubscribed: the track is now sent to the subscriber (attached to its
	// Peer; the client sees it after the next negotiation).
	OnSubscribed func(publisherSID, trackSID string)
	// OnUnsubscribed: the track is no longer sent.
	OnUnsubscribed func(publisherSID, trackSID string)
	// OnPermission: the publisher allowed or refused a wanted track.
	OnPermission func(publisherSID, trackSID string, allowed bool)
}

// Subscriber is one participant's receiving side: the Peer its tracks go to
// (its only Peer on /rtc/v1, its subscriber Peer on /rtc).
type Subscriber struct {
	f        *Forwarder
	sid      string
	identity string
	peer     *Peer
	h        SubscriberHandlers

	// Guarded by f.mu.
	allowed bool
	closed  bool
	wants   map[string]string // track sid → publisher sid
	denied  map[string]bool   // wanted tracks the publisher refuses, as last told
}

// NewSubscriber registers a participant that may receive tracks on peer.
// canSubscribe is its grant; see SetAllowed.
func (f *Forwarder) NewSubscriber(participantSID, identity string, peer *Peer, canSubscribe bool, h SubscriberHandlers) *Subscriber {
	s := &Subscriber{
		f: f, sid: participantSID, identity: identity, peer: peer, h: h,
		allowed: canSubscribe, wants: map[string]string{}, denied: map[string]bool{},
	}
	f.mu.Lock()
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	return s
}

// notes are callbacks collected under the lock and run after it.
type notes []func()

func (n notes) run() {
	for _, fn := range n {
		fn()
	}
}

func (f *Forwarder) routeFor(trackSID, publisherSID string) *route {
	r := f.routes[trackSID]
	if r == nil {
		r = &route{trackSID: trackSID, publisherSID: publisherSID, downs: map[*Subscriber]*downTrack{}}
		f.routes[trackSID] = r
	}
	if publisherSID != "" {
		r.publisherSID = publisherSID
	}
	return r
}

// drop forgets a route nobody publishes or wants.
func (f *Forwarder) drop(r *route) {
	if r.src != nil || len(r.downs) > 0 || len(r.listens) > 0 {
		return
	}
	for s := range f.subs {
		if _, ok := s.wants[r.trackSID]; ok {
			return
		}
	}
	delete(f.routes, r.trackSID)
}

// settle attaches or detaches the track for s so that it matches the rules.
func (f *Forwarder) settle(r *route, s *Subscriber, out *notes) {
	_, wanted := s.wants[r.trackSID]
	permitted := f.perms[r.publisherSID].allows(s, r.trackSID)
	if wanted && !s.closed && s.denied[r.trackSID] == permitted {
		s.denied[r.trackSID] = !permitted
		if h := s.h.OnPermission; h != nil {
			pub, track := r.publisherSID, r.trackSID
			*out = append(*out, func() { h(pub, track, permitted) })
		}
	}
	should := wanted && permitted && s.allowed && !s.closed && r.src != nil && s.sid != r.publisherSID
	d := r.downs[s]
	switch {
	case should && d == nil:
		nd, err := s.peer.attach(r.src, r.publisherSID, r.trackSID)
		if err != nil {
			return
		}
		r.downs[s] = nd
		pub, track := r.publisherSID, r.trackSID
		if h := s.h.OnSubscribed; h != nil {
			*out = append(*out, func() { h(pub, track) })
		}
		if !r.notified && r.onSubscribed != nil {
			r.notified = true
			*out = append(*out, r.onSubscribed)
		}
	case !should && d != nil:
		delete(r.downs, s)
		s.peer.detach(d)
		if h := s.h.OnUnsubscribed; h != nil {
			pub, track := r.publisherSID, r.trackSID
			*out = append(*out, func() { h(pub, track) })
		}
	}
}

// Publish makes src the media of track trackSID of participant
// publisherSID and sends it to everyone who wants it. onSubscribed (may be
// nil) runs once, when the first subscriber gets the track. Publishing a
// new source for the same sid replaces the old one.
func (f *Forwarder) Publish(publisherSID, trackSID string, src *Source, onSubscribed func()) {
	if src == nil {
		return
	}
	src.mu.Lock()
	src.sid = trackSID
	src.mu.Unlock()
	var out notes
	f.mu.Lock()
	r := f.routeFor(trackSID, publisherSID)
	if r.src != src {
		if r.src != nil {
			f.unbind(r, &out)
		}
		r.src = src
		src.setListens(r.listens)
		r.onSubscribed = onSubscribed
		r.notified = false
		for s := range f.subs {
			f.settle(r, s, &out)
		}
	}
	f.mu.Unlock()
	out.run()
	src.whenEnded(func() { f.ended(trackSID, src) })
}

// unbind detaches every subscriber of r and forgets its source.
func (f *Forwarder) unbind(r *route, out *notes) {
	r.src = nil
	for s := range r.downs {
		f.settle(r, s, out)
	}
}

func (f *Forwarder) ended(trackSID string, src *Source) {
	var out notes
	f.mu.Lock()
	if r := f.routes[trackSID]; r != nil && r.src == src {
		f.unbind(r, &out)
		f.drop(r)
	}
	f.mu.Unlock()
	out.run()
}

// Unpublish stops forwarding trackSID to everyone.
func (f *Forwarder) Unpublish(trackSID string) {
	var out notes
	f.mu.Lock()
	if r := f.routes[trackSID]; r != nil {
		f.unbind(r, &out)
		f.drop(r)
	}
	f.mu.Unlock()
	out.run()
}

// UnpublishAll stops forwarding every track of publisherSID and forgets its
// permissions (it left).
func (f *Forwarder) UnpublishAll(publisherSID string) {
	var out notes
	f.mu.Lock()
	for _, r := range f.routes {
		if r.publisherSID == publisherSID && r.src != nil {
			f.unbind(r, &out)
			f.drop(r)
		}
	}
	delete(f.perms, publisherSID)
	f.mu.Unlock()
	out.run()
}

// SetMuted stops (or resumes) forwarding trackSID without unsubscribing
// anyone, as LiveKit does for a muted track.
func (f *Forwarder) SetMuted(trackSID string, muted bool) {
	f.mu.Lock()
	r := f.routes[trackSID]
	var src *Source
	if r != nil {
		src = r.src
	}
	f.mu.Unlock()
	if src != nil {
		src.setMuted(muted)
	}
}

// SetPermissions replaces publisherSID's subscription rules and applies them
// to every current subscriber of its tracks.
func (f *Forwarder) SetPermissions(publisherSID string, p Permissions) {
	var out notes
	f.mu.Lock()
	cp := Permissions{AllParticipants: p.AllParticipants, Allow: slices.Clone(p.Allow)}
	f.perms[publisherSID] = &cp
	for _, r := range f.routes {
		if r.publisherSID != publisherSID {
			continue
		}
		for s := range f.subs {
			f.settle(r, s, &out)
		}
	}
	f.mu.Unlock()
	out.run()
}

// Want asks for trackSID of publisherSID; it is sent once allowed and
// published (at once if it already is).
func (s *Subscriber) Want(publisherSID, trackSID string) {
	f := s.f
	var out notes
	f.mu.Lock()
	if !s.closed {
		s.wants[trackSID] = publisherSID
		f.settle(f.routeFor(trackSID, publisherSID), s, &out)
	}
	f.mu.Unlock()
	out.run()
}

// Unwant stops receiving trackSID.
func (s *Subscriber) Unwant(trackSID string) {
	f := s.f
	var out notes
	f.mu.Lock()
	delete(s.wants, trackSID)
	delete(s.denied, trackSID)
	if r := f.routes[trackSID]; r != nil {
		f.settle(r, s, &out)
		f.drop(r)
	}
	f.mu.Unlock()
	out.run()
}

// Wants reports whether the subscriber asked for trackSID.
func (s *Subscriber) Wants(trackSID string) bool {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	_, ok := s.wants[trackSID]
	return ok
}

// SetAllowed applies the canSubscribe grant: without it nothing is sent,
// and wanted tracks follow once it is given back.
func (s *Subscriber) SetAllowed(allowed bool) {
	f := s.f
	var out notes
	f.mu.Lock()
	if s.allowed != allowed {
		s.allowed = allowed
		for t := range s.wants {
			if r := f.routes[t]; r != nil {
				f.settle(r, s, &out)
			}
		}
	}
	f.mu.Unlock()
	out.run()
}

// Close detaches everything sent to the subscriber and forgets it. The
// subscriber's Peer is left to its owner.
func (s *Subscriber) Close() {
	f := s.f
	var out notes
	f.mu.Lock()
	if !s.closed {
		s.closed = true
		wants := s.wants
		s.wants = map[string]string{}
		for t := range wants {
			if r := f.routes[t]; r != nil {
				if d := r.downs[s]; d != nil {
					delete(r.downs, s)
					s.peer.detach(d)
				}
				f.drop(r)
			}
		}
		delete(f.subs, s)
	}
	f.mu.Unlock()
	out.run()
}

// Counts reports how many tracks are published and how many subscriptions
// are being forwarded (metrics, tests).
func (f *Forwarder) Counts() (published, forwarding int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.routes {
		if r.src != nil {
			published++
		}
		forwarding += len(r.downs)
	}
	return published, forwarding
}
