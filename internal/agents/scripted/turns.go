package scripted

import "time"

// Speech detection on a microphone's Opus packets, without decoding them:
// while someone speaks an encoder sends packets of tens to hundreds of bytes
// every 20 ms; in silence it sends packets of a few bytes, or with DTX none
// at all for up to 400 ms. A turn starts after MinSpeech of big packets and
// ends after EndSilence without one.
const (
	// SpeechBytes is the smallest Opus payload taken for speech.
	SpeechBytes = 20
	// MinSpeech of speech packets, none more than voiceGap apart, starts a
	// turn (a click or a cough does not).
	MinSpeech = 100 * time.Millisecond
	voiceGap  = 100 * time.Millisecond
	// EndSilence without a speech packet ends the turn.
	EndSilence = 700 * time.Millisecond
)

// TurnEvent is what a packet or the passing of time tells.
type TurnEvent int

// Turn events.
const (
	TurnNone    TurnEvent = iota
	TurnStarted           // the user started speaking
	TurnEnded             // the user stopped: the turn is complete
)

// Detector finds user turns in one microphone's packets. It keeps no
// clock: the caller gives each packet's arrival time and calls Idle as time
// passes. Not safe for concurrent use.
type Detector struct {
	speaking  bool
	runStart  time.Time // start of the current run of speech packets
	lastVoice time.Time // last speech packet
	started   time.Time // when the turn started
}

// Packet takes one packet of size bytes that arrived at at.
func (d *Detector) Packet(at time.Time, size int) TurnEvent {
	if size < SpeechBytes {
		return d.Idle(at)
	}
	if d.lastVoice.IsZero() || at.Sub(d.lastVoice) > voiceGap {
		d.runStart = at
	}
	d.lastVoice = at
	if !d.speaking && at.Sub(d.runStart) >= MinSpeech {
		d.speaking, d.started = true, d.runStart
		return TurnStarted
	}
	return TurnNone
}

// Idle tells the detector the time is now; it ends a turn after EndSilence.
func (d *Detector) Idle(now time.Time) TurnEvent {
	if d.speaking && now.Sub(d.lastVoice) >= EndSilence {
		d.speaking = false
		return TurnEnded
	}
	return TurnNone
}

// Speaking reports whether a turn is under way.
func (d *Detector) Speaking() bool { return d.speaking }

// Length is how long the last (or current) turn's speech lasted.
func (d *Detector) Length() time.Duration { return d.lastVoice.Sub(d.started) }
