package rtc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/webrtc/v4"
)

// codec is one codec the Engine negotiates, with the payload type it offers
// and, for video, the payload type of its retransmissions (RTX).
type codec struct {
	kind  webrtc.RTPCodecType
	mime  string
	clock uint32
	chans uint16
	fmtp  string
	pt    webrtc.PayloadType
	rtxPT webrtc.PayloadType // 0: no RTX
}

// codecs is the set LiveKit's own server negotiates (Opus for audio; VP8,
// H.264 constrained baseline and baseline, VP9 profile 0 and AV1 main for
// video, each video codec with RTX), not pion's default list, which adds
// G.711, G.722, H.265, VP9 profile 2 and five more H.264 variants that no
// LiveKit client publishes with. Every client offer is matched against every
// codec listed here (see trimOffer), so the list is kept short on purpose.
func codecs() []codec {
	const vclock = 90000
	return []codec{
		{kind: webrtc.RTPCodecTypeAudio, mime: webrtc.MimeTypeOpus, clock: 48000, chans: 2, fmtp: "minptime=10;useinbandfec=1", pt: 111},
		{kind: webrtc.RTPCodecTypeVideo, mime: webrtc.MimeTypeVP8, clock: vclock, pt: 96, rtxPT: 97},
		{kind: webrtc.RTPCodecTypeVideo, mime: webrtc.MimeTypeH264, clock: vclock, fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", pt: 106, rtxPT: 107},
		{kind: webrtc.RTPCodecTypeVideo, mime: webrtc.MimeTypeH264, clock: vclock, fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", pt: 102, rtxPT: 103},
		{kind: webrtc.RTPCodecTypeVideo, mime: webrtc.MimeTypeVP9, clock: vclock, fmtp: "profile-id=0", pt: 98, rtxPT: 99},
		{kind: webrtc.RTPCodecTypeVideo, mime: webrtc.MimeTypeAV1, clock: vclock, pt: 45, rtxPT: 46},
	}
}

// videoFeedback is the RTCP feedback every video codec announces.
func videoFeedback() []webrtc.RTCPFeedback {
	return []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
}

// registerCodecs puts codecs() into me.
func registerCodecs(me *webrtc.MediaEngine) error {
	for _, c := range codecs() {
		capability := webrtc.RTPCodecCapability{MimeType: c.mime, ClockRate: c.clock, Channels: c.chans, SDPFmtpLine: c.fmtp}
		if c.kind == webrtc.RTPCodecTypeVideo {
			capability.RTCPFeedback = videoFeedback()
		}
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: capability, PayloadType: c.pt}, c.kind); err != nil {
			return fmt.Errorf("%s: %w", c.mime, err)
		}
		if c.rtxPT == 0 {
			continue
		}
		rtx := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: c.clock, SDPFmtpLine: "apt=" + strconv.Itoa(int(c.pt))}
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: rtx, PayloadType: c.rtxPT}, c.kind); err != nil {
			return fmt.Errorf("%s RTX: %w", c.mime, err)
		}
	}
	return nil
}

// accepts reports whether an offered codec (its rtpmap name and fmtp
// parameters) would be matched by c, by the rules pion applies when it
// answers: the same MIME type, and for H.264 the same packetization mode and
// profile (the first two bytes of profile-level-id), for VP9 the same
// profile-id and for AV1 the same profile (both 0 when absent).
func (c codec) accepts(kind, name string, params map[string]string) bool {
	if !strings.EqualFold(c.mime, kind+"/"+name) {
		return false
	}
	own := fmtpParams(c.fmtp)
	switch strings.ToLower(c.mime) {
	case strings.ToLower(webrtc.MimeTypeH264):
		pm, ok := params["packetization-mode"]
		if !ok || pm != own["packetization-mode"] {
			return false
		}
		plid, ownPLID := params["profile-level-id"], own["profile-level-id"]
		return len(plid) >= 4 && len(ownPLID) >= 4 && strings.EqualFold(plid[:4], ownPLID[:4])
	case strings.ToLower(webrtc.MimeTypeVP9):
		return orZero(params["profile-id"]) == orZero(own["profile-id"])
	case strings.ToLower(webrtc.MimeTypeAV1):
		return orZero(params["profile"]) == orZero(own["profile"])
	}
	return true
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// fmtpParams splits "a=1;b=2" into its parameters (keys lower case).
func fmtpParams(line string) map[string]string {
	out := map[string]string{}
	for p := range strings.SplitSeq(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if k != "" {
			out[strings.ToLower(k)] = v
		}
	}
	return out
}

// trimOffer drops from each audio and video section of an offer every
// payload type the Engine would not answer with (its rtpmap, fmtp and
// rtcp-fb lines too), so that pion parses a handful of codecs per section
// instead of the thirty a browser or libwebrtc lists: pion looks each payload
// type up by scanning the whole section again, and on a 7-section rtc-node
// offer that scan was most of the server's time to answer. The answer is the
// same either way, since it only ever lists the codecs both sides support. A
// section that would keep no payload type, or that cannot be read, is left as
// it is, and so is everything else in the SDP.
func trimOffer(sdp string, table []codec) string {
	lines := strings.SplitAfter(sdp, "\n")
	var b strings.Builder
	b.Grow(len(sdp))
	start := 0
	for start < len(lines) {
		end := start + 1
		for end < len(lines) && !strings.HasPrefix(lines[end], "m=") {
			end++
		}
		section := lines[start:end]
		if strings.HasPrefix(section[0], "m=") {
			section = trimSection(section, table)
		}
		for _, l := range section {
			b.WriteString(l)
		}
		start = end
	}
	return b.String()
}

// trimSection rewrites one media section (its lines, each with its line
// ending); see trimOffer.
func trimSection(lines []string, table []codec) []string {
	mline := strings.Fields(lines[0])
	if len(mline) < 4 {
		return lines
	}
	kind := strings.TrimPrefix(mline[0], "m=")
	if kind != "audio" && kind != "video" {
		return lines
	}
	names := map[string]string{}             // payload type -> encoding name
	params := map[string]map[string]string{} // payload type -> fmtp parameters
	for _, l := range lines[1:] {
		if pt, rest, ok := attrPT(l, "a=rtpmap:"); ok {
			name, _, _ := strings.Cut(rest, "/")
			names[pt] = name
		} else if pt, rest, ok := attrPT(l, "a=fmtp:"); ok {
			params[pt] = fmtpParams(rest)
		}
	}
	keep := map[string]bool{}
	for _, pt := range mline[3:] {
		for _, c := range table {
			if c.kind.String() == kind && c.accepts(kind, names[pt], params[pt]) {
				keep[pt] = true
				break
			}
		}
	}
	if len(keep) == 0 {
		return lines
	}
	for _, pt := range mline[3:] { // RTX follows the codec it repeats
		if strings.EqualFold(names[pt], "rtx") && keep[params[pt]["apt"]] {
			keep[pt] = true
		}
	}
	kept := append([]string(nil), mline[:3]...)
	for _, pt := range mline[3:] {
		if keep[pt] {
			kept = append(kept, pt)
		}
	}
	out := make([]string, 0, len(lines))
	out = append(out, strings.Join(kept, " ")+lineEnding(lines[0]))
	for _, l := range lines[1:] {
		pt, _, ok := attrPT(l, "a=rtpmap:")
		if !ok {
			pt, _, ok = attrPT(l, "a=fmtp:")
		}
		if !ok {
			pt, _, ok = attrPT(l, "a=rtcp-fb:")
		}
		if ok && pt != "*" && !keep[pt] {
			continue
		}
		out = append(out, l)
	}
	return out
}

// attrPT reads "a=name:PT rest" and returns PT and rest (without the line
// ending).
func attrPT(line, prefix string) (pt, rest string, ok bool) {
	v, found := strings.CutPrefix(line, prefix)
	if !found {
		return "", "", false
	}
	v = strings.TrimRight(v, "\r\n")
	pt, rest, _ = strings.Cut(v, " ")
	return pt, rest, pt != ""
}

// lineEnding is the "\r\n", "\n" or "" that ends line.
func lineEnding(line string) string {
	switch {
	case strings.HasSuffix(line, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(line, "\n"):
		return "\n"
	}
	return ""
}
