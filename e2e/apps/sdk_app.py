"""The test app under sentry-python (sentry-sdk from PyPI), as its users run it: the
SDK initialised with its defaults and its WSGI middleware around the app. SDK_DSN
says where its events go."""
import os

import sentry_sdk
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware

import app

sentry_sdk.init(dsn=os.environ["SDK_DSN"])
application = SentryWsgiMiddleware(app.application)
