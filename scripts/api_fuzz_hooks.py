"""Schemathesis hooks for scripts/api-fuzz: how to put a generated value into the bodies the
API takes that are neither JSON nor forms (SDP offers, video, images), so that those routes are
fuzzed too instead of skipped."""

import schemathesis


@schemathesis.serializer("application/sdp", "video/mp4", "image/png", "image/jpeg")
def raw_bytes(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return str(value).encode()
