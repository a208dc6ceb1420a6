package rtc

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// rtcNodeOffer is the first offer of an @livekit/rtc-node 1.1.0 client
// (libwebrtc): three audio and three video recvonly sections with every codec
// libwebrtc knows, and the data channel section.
func rtcNodeOffer(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/rtcnode-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mlines returns the "m=" lines of an SDP.
func mlines(sdp string) []string {
	var out []string
	for l := range strings.Lines(sdp) {
		if strings.HasPrefix(l, "m=") {
			out = append(out, strings.TrimRight(l, "\r\n"))
		}
	}
	return out
}

func TestTrimOfferKeepsTheCodecsTheServerAnswersWith(t *testing.T) {
	offer := rtcNodeOffer(t)
	got := trimOffer(offer, codecs())

	// The payload types of that offer: opus 111; VP8 96 (RTX 97), H.264
	// constrained baseline 109 (114) and baseline 103 (104), both with
	// packetization-mode=1, AV1 profile 0 45 (46), VP9 profile 0 98 (99).
	// Gone: RED, G.722, G.711, CN, telephone-event, H.264 with
	// packetization-mode=0 or main profile, VP9 profile 2, H.265, ulpfec.
	want := []string{
		"m=audio 9 UDP/TLS/RTP/SAVPF 111",
		"m=audio 9 UDP/TLS/RTP/SAVPF 111",
		"m=audio 9 UDP/TLS/RTP/SAVPF 111",
		"m=video 9 UDP/TLS/RTP/SAVPF 96 97 103 104 109 114 45 46 98 99",
		"m=video 9 UDP/TLS/RTP/SAVPF 96 97 103 104 109 114 45 46 98 99",
		"m=video 9 UDP/TLS/RTP/SAVPF 96 97 103 104 109 114 45 46 98 99",
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
	}
	if m := mlines(got); !slices.Equal(m, want) {
		t.Fatalf("m-lines after trimming:\n%s\nwant\n%s", strings.Join(m, "\n"), strings.Join(want, "\n"))
	}
	for _, dropped := range []string{"a=rtpmap:63 ", "a=fmtp:63 ", "a=rtpmap:0 ", "a=rtpmap:107 ", "a=fmtp:108 ", "a=rtpmap:100 ", "a=rtcp-fb:117 "} {
		if strings.Contains(got, dropped) {
			t.Errorf("trimmed offer still has %q", dropped)
		}
	}
	// Every other line is still there, in its order, with its CRLF.
	var rest []string
	for l := range strings.Lines(offer) {
		if !strings.HasPrefix(l, "m=") && !strings.HasPrefix(l, "a=rtpmap:") && !strings.HasPrefix(l, "a=fmtp:") && !strings.HasPrefix(l, "a=rtcp-fb:") {
			rest = append(rest, l)
		}
	}
	var kept []string
	for l := range strings.Lines(got) {
		if !strings.HasSuffix(l, "\r\n") {
			t.Fatalf("line %q lost its CRLF", l)
		}
		if !strings.HasPrefix(l, "m=") && !strings.HasPrefix(l, "a=rtpmap:") && !strings.HasPrefix(l, "a=fmtp:") && !strings.HasPrefix(l, "a=rtcp-fb:") {
			kept = append(kept, l)
		}
	}
	if !slices.Equal(kept, rest) {
		t.Error("trimming changed lines other than m=, rtpmap, fmtp and rtcp-fb")
	}
	if n, was := strings.Count(got, "a=rtpmap:"), strings.Count(offer, "a=rtpmap:"); n != 3+3*10 {
		t.Errorf("trimmed offer has %d rtpmap lines (the offer %d), want 33", n, was)
	}
}

// codecLines is what an answer says about codecs, section by section: the
// m-line and the rtpmap, fmtp and rtcp-fb attributes. pion lists RTX payload
// types in no fixed order, so formats and attributes are sorted.
func codecLines(sdp string) []string {
	var out, section []string
	flush := func() {
		slices.Sort(section)
		out = append(out, section...)
		section = nil
	}
	for l := range strings.Lines(sdp) {
		l = strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(l, "m=") {
			flush()
			f := strings.Fields(l)
			if len(f) > 3 {
				slices.Sort(f[3:])
			}
			out = append(out, strings.Join(f, " "))
			continue
		}
		for _, p := range []string{"a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"} {
			if strings.HasPrefix(l, p) {
				section = append(section, l)
			}
		}
	}
	flush()
	return out
}

func TestTrimmedOfferGetsTheSameAnswer(t *testing.T) {
	e := newEngine(t)
	offer := rtcNodeOffer(t)
	answer := func(sdp string) string {
		pc, err := e.api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = pc.Close() }()
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
			t.Fatal(err)
		}
		a, err := pc.CreateAnswer(nil)
		if err != nil {
			t.Fatal(err)
		}
		return a.SDP
	}
	whole, trimmed := codecLines(answer(offer)), codecLines(answer(trimOffer(offer, e.codecs)))
	if !slices.Equal(whole, trimmed) {
		t.Fatalf("answer to the whole offer:\n%s\n\nanswer to the trimmed offer:\n%s", strings.Join(whole, "\n"), strings.Join(trimmed, "\n"))
	}
	if !slices.Contains(whole, "a=rtpmap:111 opus/48000/2") || !slices.Contains(whole, "a=rtpmap:96 VP8/90000") {
		t.Errorf("answer lacks opus or VP8:\n%s", strings.Join(whole, "\n"))
	}
}

func TestTrimOfferEdgeCases(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"no media", "v=0\r\ns=-\r\n", "v=0\r\ns=-\r\n"},
		{"data channel only", "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:5000\r\n",
			"v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:5000\r\n"},
		{"m-line without formats", "m=audio 9 RTP/AVP\r\na=rtpmap:0 PCMU/8000\r\n", "m=audio 9 RTP/AVP\r\na=rtpmap:0 PCMU/8000\r\n"},
		{"nothing we take is left as it is", "m=audio 9 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n",
			"m=audio 9 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"},
		{"LF endings and upper-case names", "m=audio 9 RTP/AVP 0 96\na=rtpmap:0 PCMU/8000\na=rtpmap:96 OPUS/48000/2\na=rtcp-fb:* nack\n",
			"m=audio 9 RTP/AVP 96\na=rtpmap:96 OPUS/48000/2\na=rtcp-fb:* nack\n"},
		{"no final line ending", "m=audio 9 RTP/AVP 0 96\r\na=rtpmap:96 opus/48000/2", "m=audio 9 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2"},
		{"RTX follows its codec", "m=video 9 RTP/AVP 100 101 96 97\r\n" +
			"a=rtpmap:100 VP9/90000\r\na=fmtp:100 profile-id=2\r\na=rtpmap:101 rtx/90000\r\na=fmtp:101 apt=100\r\n" +
			"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n",
			"m=video 9 RTP/AVP 96 97\r\n" +
				"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"},
		{"H.264 needs packetization-mode and profile", "m=video 9 RTP/AVP 102 104 106 108\r\n" +
			"a=rtpmap:102 H264/90000\r\na=fmtp:102 profile-level-id=42e01f\r\n" +
			"a=rtpmap:104 H264/90000\r\na=fmtp:104 packetization-mode=1;profile-level-id=64001f\r\n" +
			"a=rtpmap:106 H264/90000\r\na=fmtp:106 packetization-mode=1;profile-level-id=42E034\r\n" +
			"a=rtpmap:108 H264/90000\r\na=fmtp:108 packetization-mode=1;profile-level-id=42\r\n",
			"m=video 9 RTP/AVP 106\r\na=rtpmap:106 H264/90000\r\na=fmtp:106 packetization-mode=1;profile-level-id=42E034\r\n"},
		{"AV1 main profile only", "m=video 9 RTP/AVP 45 47\r\na=rtpmap:45 AV1/90000\r\na=rtpmap:47 AV1/90000\r\na=fmtp:47 profile=1\r\n",
			"m=video 9 RTP/AVP 45\r\na=rtpmap:45 AV1/90000\r\n"},
		{"audio codec in a video section", "m=video 9 RTP/AVP 111 96\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:96 VP8/90000\r\n",
			"m=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"},
		{"sections are trimmed one by one", "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\nm=audio 9 RTP/AVP 0 111\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:111 opus/48000/2\r\n",
			"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\nm=audio 9 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := trimOffer(c.in, codecs()); got != c.want {
				t.Errorf("trimOffer(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

func FuzzTrimOffer(f *testing.F) {
	f.Add(rtcNodeOffer(f))
	f.Add("m=audio 9 RTP/AVP 0 96\na=rtpmap:96 opus/48000/2\na=fmtp:96\n")
	f.Add("m=video 9 RTP/AVP 97 96\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=97\r\na=rtpmap:96 h264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e0\r\n")
	table := codecs()
	f.Fuzz(func(t *testing.T, sdp string) {
		got := trimOffer(sdp, table)
		if len(got) > len(sdp) {
			t.Fatalf("trimming grew the SDP from %d to %d bytes", len(sdp), len(got))
		}
		if again := trimOffer(got, table); again != got {
			t.Fatalf("trimming twice differs:\n%q\n%q", got, again)
		}
		// Only m-lines are rewritten; every other line comes from the input.
		in := map[string]bool{}
		for l := range strings.Lines(sdp) {
			in[l] = true
		}
		for l := range strings.Lines(got) {
			if !strings.HasPrefix(l, "m=") && !in[l] {
				t.Fatalf("line %q is not from the input", l)
			}
		}
	})
}

func BenchmarkHandleOfferRTCNode(b *testing.B) {
	e := newEngine(b)
	offer := rtcNodeOffer(b)
	for _, trim := range []bool{false, true} {
		name := "whole"
		if trim {
			name = "trimmed"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				pc, err := e.api.NewPeerConnection(webrtc.Configuration{})
				if err != nil {
					b.Fatal(err)
				}
				sdp := offer
				if trim {
					sdp = trimOffer(offer, e.codecs)
				}
				if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
					b.Fatal(err)
				}
				a, err := pc.CreateAnswer(nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := pc.SetLocalDescription(a); err != nil {
					b.Fatal(err)
				}
				_ = pc.Close()
			}
		})
	}
}
