"""Adapters: acdcore on real switches.

Each adapter stands on :class:`acdcore.runtime.Runtime` and speaks one
switch's protocol; it imports only acdcore's public API.

- :mod:`acdcore.adapters.kamailio`: Kamailio (SIP) over its evapi module,
  with the configuration shipped beside it (``kamailio.cfg``); no extra
  dependency.
- :mod:`acdcore.adapters.ari`: Asterisk over ARI (REST and WebSocket), on
  the thin client in :mod:`acdcore.adapters.ari_client`; needs the
  ``acdcore[asterisk]`` extra (httpx, websockets).
"""
