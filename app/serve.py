"""What `streamlit run` serves: the router (streamlit_app.py) as Streamlit's ASGI app, with each page's
element code named in its HTML (app/preload.py). Run it as `streamlit run app/serve.py`."""

from __future__ import annotations

import streamlit as st
from starlette.middleware import Middleware

from app import nodelay
from app.preload import PreloadMiddleware

# Imported by the server before it accepts a connection, so each one gets Nagle off (app/nodelay.py).
nodelay.install()
app = st.App("streamlit_app.py", middleware=[Middleware(PreloadMiddleware)])
