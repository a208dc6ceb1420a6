package pbwire

import (
	"bytes"
	"compress/flate"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

func TestStreamPacketsRoundTrip(t *testing.T) {
	attrs := map[string]string{"lk.segment_id": "SG_1", "lk.transcription_final": "false"}
	h, err := StreamHeader("agent", "S1", "lk.transcription", attrs, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStreamPacket(h)
	if err != nil || got.Kind != "stream_header" || got.Sender != "agent" || got.StreamID != "S1" ||
		got.Topic != "lk.transcription" || !got.Text || got.Attributes["lk.segment_id"] != "SG_1" {
		t.Fatalf("header decoded as %+v, %v", got, err)
	}
	c, _ := StreamChunk("agent", "S1", 2, []byte("Hello"))
	if got, _ := DecodeStreamPacket(c); got.Kind != "stream_chunk" || string(got.Content) != "Hello" {
		t.Fatalf("chunk decoded as %+v", got)
	}
	tr, _ := StreamTrailer("agent", "S1", "", map[string]string{"lk.transcription_final": "true"})
	if got, _ := DecodeStreamPacket(tr); got.Kind != "stream_trailer" || got.Attributes["lk.transcription_final"] != "true" {
		t.Fatalf("trailer decoded as %+v", got)
	}
	resp, _ := RPCResponse("agent", "user", "R1", "", 1400, "Method not supported at destination")
	var dp livekit.DataPacket
	if err := proto.Unmarshal(resp, &dp); err != nil || dp.GetRpcResponse().GetError().GetCode() != 1400 ||
		dp.GetDestinationIdentities()[0] != "user" {
		t.Fatalf("rpc response = %v, %v", &dp, err)
	}
}

func TestDecodeStreamPacketInflatesInlineAndRPCContent(t *testing.T) {
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestSpeed)
	_, _ = w.Write([]byte("what is the weather"))
	_ = w.Close()
	b, _ := proto.Marshal(&livekit.DataPacket{Value: &livekit.DataPacket_StreamHeader{StreamHeader: &livekit.DataStream_Header{
		StreamId: "S2", Topic: "lk.chat", InlineContent: z.Bytes(), Compression: livekit.DataStream_DEFLATE_RAW,
		ContentHeader: &livekit.DataStream_Header_TextHeader{TextHeader: &livekit.DataStream_TextHeader{}},
	}}})
	got, err := DecodeStreamPacket(b)
	if err != nil || !got.Inline || string(got.Content) != "what is the weather" {
		t.Fatalf("inline header decoded as %+v, %v", got, err)
	}
	b, _ = proto.Marshal(&livekit.DataPacket{Value: &livekit.DataPacket_RpcRequest{RpcRequest: &livekit.RpcRequest{
		Id: "R2", Method: "get_time", CompressedPayload: z.Bytes(),
	}}})
	if got, err := DecodeStreamPacket(b); err != nil || got.Method != "get_time" || got.Payload != "what is the weather" {
		t.Fatalf("rpc request decoded as %+v, %v", got, err)
	}
	if _, err := DecodeStreamPacket([]byte{0xff, 0xff}); err == nil {
		t.Fatal("garbage decoded without an error")
	}
}
