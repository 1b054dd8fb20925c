"""What `streamlit run` serves: the router (streamlit_app.py) as Streamlit's ASGI app, with each page's
element code named in its HTML (app/preload.py). Run it as `streamlit run app/serve.py`.

Imported once at server start, before the server listens: local mode (no [auth]) on an address other than
loopback stops the server here (closedloop/appserver.py `refusal`)."""

from __future__ import annotations

import sys

import streamlit as st
from starlette.middleware import Middleware

from app import access_ui, nodelay
from app.media_guard import MediaGuardMiddleware
from app.preload import PreloadMiddleware
from closedloop import appserver

why = appserver.refusal(st.get_option("server.address"), access_ui.auth_configured())
if why:
    print(why, file=sys.stderr, flush=True)
    raise SystemExit(appserver.BIND_REFUSED)

# Imported by the server before it accepts a connection, so each one gets Nagle off (app/nodelay.py).
nodelay.install()
app = st.App("streamlit_app.py", middleware=[Middleware(MediaGuardMiddleware), Middleware(PreloadMiddleware)])
