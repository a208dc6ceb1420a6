# Two stages: a static binary, then a distroless non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/livekit-mock ./cmd/livekit-mock

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/livekit-mock /livekit-mock
USER nonroot:nonroot
# A container is reached from outside it: listen on every interface (the
# binary's own default is loopback only).
ENV BIND=0.0.0.0
# HTTP + WebSocket; WebRTC media on one muxed UDP port.
EXPOSE 7880 7882/udp
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 CMD ["/livekit-mock", "healthcheck"]
ENTRYPOINT ["/livekit-mock"]
CMD ["serve"]
