package rtc

import (
	"fmt"
	"strings"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack is one published track sent to one subscriber: a local track on
// the subscriber's Peer fed by the Source, and a reader of the subscriber's
// RTCP that passes keyframe requests to the publisher.
type downTrack struct {
	peer     *Peer
	src      *Source
	local    *keyframeOnBind
	sender   *webrtc.RTPSender
	trackSID string
	once     sync.Once
}

// keyframeOnBind asks the publisher for a keyframe whenever the track is
// bound to a negotiated section: the new subscriber cannot decode video
// until one arrives.
type keyframeOnBind struct {
	*webrtc.TrackLocalStaticRTP
	src *Source
}

func (k *keyframeOnBind) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	params, err := k.TrackLocalStaticRTP.Bind(ctx)
	if err == nil {
		// Writes to the publisher's PeerConnection, never the one binding.
		k.src.requestKeyframe()
	}
	return params, err
}

func (d *downTrack) write(pkt *rtp.Packet) {
	// Errors are a subscriber that went away; the Forwarder removes it.
	_ = d.local.WriteRTP(pkt)
}

func (d *downTrack) readRTCP() {
	for {
		pkts, _, err := d.sender.ReadRTCP()
		if err != nil {
			return
		}
		// NACKs are answered by pion's NACK responder on this sender from
		// the packets it sent; loss on the publisher's leg is NACKed by the
		// generator on the receiving side. Passing them up as well would
		// make the publisher resend what every subscriber already has.
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.src.requestKeyframe()
			}
		}
	}
}

// attach starts sending src to this Peer's client as the track trackSID of
// participant publisherSID. The stream id is "PA_…|TR_…", which both SDKs
// parse to find the publisher and the track.
func (p *Peer) attach(src *Source, publisherSID, trackSID string) (*downTrack, error) {
	p.trMu.Lock()
	if p.tracksStopped {
		p.trMu.Unlock()
		return nil, ErrClosed
	}
	p.readers.Add(1)
	p.trMu.Unlock()

	local, err := webrtc.NewTrackLocalStaticRTP(src.codec, trackSID, publisherSID+"|"+trackSID)
	if err != nil {
		p.readers.Done()
		return nil, fmt.Errorf("rtc: local track: %w", err)
	}
	kl := &keyframeOnBind{TrackLocalStaticRTP: local, src: src}
	sender, err := p.pc.AddTrack(kl)
	if err != nil {
		p.readers.Done()
		return nil, fmt.Errorf("rtc: add track %s: %w", trackSID, err)
	}
	d := &downTrack{peer: p, src: src, local: kl, sender: sender, trackSID: trackSID}
	go func() {
		defer p.readers.Done()
		d.readRTCP()
	}()
	p.trMu.Lock()
	stopped := p.tracksStopped
	if !stopped {
		p.downs[d] = struct{}{}
	}
	p.trMu.Unlock()
	if stopped || !src.add(d) {
		p.detach(d)
		return nil, ErrClosed
	}
	p.negotiationNeeded()
	return d, nil
}

// detach stops sending d and renegotiates so that the client sees its
// section go inactive; the section is reused by a later attach.
func (p *Peer) detach(d *downTrack) {
	d.once.Do(func() {
		d.src.remove(d)
		p.trMu.Lock()
		delete(p.downs, d)
		stopped := p.tracksStopped
		p.trMu.Unlock()
		if err := p.pc.RemoveTrack(d.sender); err != nil {
			_ = d.sender.Stop() // closed PeerConnection: just end the RTCP reader
			return
		}
		if !stopped {
			p.negotiationNeeded()
		}
	})
}

// unmatched counts the tracks waiting for a section of the client's: their
// transceivers have no mid yet.
func (p *Peer) unmatched() (audios, videos int) {
	for _, t := range p.pc.GetTransceivers() {
		if t.Mid() != "" || t.Sender() == nil || t.Sender().Track() == nil {
			continue
		}
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			videos++
		} else {
			audios++
		}
	}
	return audios, videos
}

// negotiationNeeded queues one OnNegotiationNeeded; requests made while one
// is queued are folded into it.
func (p *Peer) negotiationNeeded() {
	p.evMu.Lock()
	defer p.evMu.Unlock()
	if p.closed || p.negQueued {
		return
	}
	p.negQueued = true
	p.events = append(p.events, event{kind: evNegotiate})
	p.signal()
}

// sectionsToAsk turns the tracks still without a section into a request for
// as many new sections as have not been asked for yet. negMu is held.
func (p *Peer) sectionsToAsk() (audios, videos int) {
	a, v := p.unmatched()
	audios, videos = max(a-p.askedAudios, 0), max(v-p.askedVideos, 0)
	p.askedAudios += audios
	p.askedVideos += videos
	return audios, videos
}

// afterAnswer forgets requests the client's offer has satisfied and asks
// again for tracks that still wait. negMu is held.
func (p *Peer) afterAnswer(beforeA, beforeV int) {
	a, v := p.unmatched()
	p.askedAudios = max(p.askedAudios-max(beforeA-a, 0), 0)
	p.askedVideos = max(p.askedVideos-max(beforeV-v, 0), 0)
	if a > p.askedAudios || v > p.askedVideos {
		p.negotiationNeeded()
	}
}

// midToTrackID maps each section the server sends a track on to the
// track's id (the TR_ sid).
func (p *Peer) midToTrackID() map[string]string {
	out := map[string]string{}
	for _, t := range p.pc.GetTransceivers() {
		s := t.Sender()
		if t.Mid() == "" || s == nil || s.Track() == nil {
			continue
		}
		out[t.Mid()] = s.Track().ID()
	}
	return out
}

// CreateOffer makes the server's offer on a subscriber Peer (see
// NewSubscriberPeer). The SDP already lists the server's candidates; the
// client's answer goes to HandleAnswer. It also returns mid_to_track_id.
func (p *Peer) CreateOffer() (string, map[string]string, error) {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() {
		return "", nil, ErrClosed
	}
	if !p.offerer {
		return "", nil, fmt.Errorf("rtc: this PeerConnection answers; the client offers")
	}
	p.setAnswering(true)
	defer p.setAnswering(false)
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return "", nil, fmt.Errorf("rtc: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return "", nil, fmt.Errorf("rtc: create offer: %w", err)
	}
	if err := p.waitGathering(gathered); err != nil {
		return "", nil, err
	}
	local := p.pc.LocalDescription()
	if local == nil {
		return "", nil, fmt.Errorf("rtc: create offer: no local description")
	}
	return local.SDP, p.midToTrackID(), nil
}

// HandleAnswer applies the client's answer to the server's last offer.
func (p *Peer) HandleAnswer(sdp string) error {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	if !p.offerer {
		return fmt.Errorf("rtc: answer on a PeerConnection that did not offer")
	}
	if strings.TrimSpace(sdp) == "" {
		return fmt.Errorf("rtc: answer: empty SDP")
	}
	if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return fmt.Errorf("rtc: answer without an offer outstanding")
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("rtc: answer: %w", err)
	}
	for _, c := range p.pending {
		p.addRemoteCandidate(c)
	}
	p.pending = nil
	return nil
}
