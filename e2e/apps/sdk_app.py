"""The test app under sentry-python (sentry-sdk from PyPI), as its users run it: the
SDK initialised with its defaults and its WSGI middleware around the app. SDK_DSN
says where its events go."""
import os

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

import app

# SDK_TRACES: its traces_sample_rate (tracing on), as a user turns it on.
traces = {"traces_sample_rate": float(os.environ["SDK_TRACES"])} if os.environ.get("SDK_TRACES") else {}
sentry_sdk.init(dsn=os.environ["SDK_DSN"], **traces)
application = SentryWsgiMiddleware(app.application)
