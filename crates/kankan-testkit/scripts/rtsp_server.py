#!/usr/bin/python3
"""A local RTSP camera for tests: GStreamer's gst-rtsp-server streaming a live test pattern
as H.264 (320x180, 15 fps, a keyframe a second) at rtsp://127.0.0.1:PORT/PATH, with Basic
authentication when a user is given. Prints "ready" once it listens.

Run with Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-rtsp-server-1.0,
gstreamer1.0-plugins-{base,good,ugly}; scripts/test installs them).

    /usr/bin/python3 rtsp_server.py --port 8554 --path cam --user admin --password secret

With --raw FILE --size WxH --fps N it streams that file of raw I420 frames instead (real
footage, e.g. from ffmpeg -f rawvideo -pix_fmt yuv420p), once, at its frame rate.

With --mp4 FILE it streams that MP4's H.264 track as it is (encoded once beforehand, so
serving costs no encoding: `kankan bench rtsp`), once, at its own pace; --mounts N serves it
at PATH0 .. PATH{N-1}, one independent session per client.
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

LAUNCH = (
    "( videotestsrc is-live=true pattern=ball "
    "! video/x-raw,width=320,height=180,framerate=15/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=300 "
    "! video/x-h264,profile=baseline "
    "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="cam")
    ap.add_argument("--user")
    ap.add_argument("--password", default="")
    ap.add_argument("--raw")
    ap.add_argument("--size", default="384x288")
    ap.add_argument("--fps", type=int, default=10)
    ap.add_argument("--mp4")
    ap.add_argument("--mounts", type=int, default=0)
    args = ap.parse_args()
    launch = LAUNCH
    if args.raw:
        width, height = (int(v) for v in args.size.split("x"))
        launch = (
            f"( filesrc location={args.raw} "
            f"! rawvideoparse width={width} height={height} format=i420 framerate={args.fps}/1 "
            "! clocksync "
            f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} bitrate=600 "
            "! video/x-h264,profile=baseline "
            "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )

    if args.mp4:
        launch = (
            f"( filesrc location={args.mp4} ! qtdemux ! h264parse "
            "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    # One pipeline per client: each session starts with a keyframe.
    factory.set_shared(False)

    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role("camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        perms.add_permission_for_role(
            "camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True
        )
        factory.set_permissions(perms)

    path = "/" + args.path.lstrip("/")
    if args.mounts:
        for i in range(args.mounts):
            server.get_mount_points().add_factory(f"{path}{i}", factory)
    else:
        server.get_mount_points().add_factory(path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on port {args.port}", file=sys.stderr, flush=True)
        return 1
    print("ready", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
