"""A minimal Django site whose webmentions django-webmention receives.

    python django_site.py serve DB   migrate DB, serve on a free loopback
                                     port, print "PORT <n>" on a line
    python django_site.py dump DB    print the received webmentions as JSON

Its pages are /notes/<slug>/; django-webmention's middleware advertises
the endpoint on every answer with an HTTP Link header, and its view
(/webmention/receive) fetches the source with requests, checks that it
contains the target, stores the mention and answers 202 (or 400, marking a
stored mention as no longer current). Nothing here is ours but the glue.
"""

import json
import sys

import django
from django.conf import settings


def configure(db):
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="only-for-a-local-test",
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "webmention"],
        MIDDLEWARE=["webmention.middleware.webmention_middleware"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    django.setup()


urlpatterns = []


def note(request, slug):
    from django.http import HttpResponse

    return HttpResponse(f"<!DOCTYPE html><html><body><h1>{slug}</h1></body></html>")


def main():
    command, db = sys.argv[1], sys.argv[2]
    configure(db)
    from django.urls import include, path

    urlpatterns.extend(
        [
            path("webmention/", include("webmention.urls")),
            path("notes/<slug:slug>/", note),
        ]
    )
    if command == "serve":
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        from django.core.management import call_command
        from django.core.wsgi import get_wsgi_application

        call_command("migrate", verbosity=0)

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
        print(f"PORT {server.server_port}", flush=True)
        server.serve_forever()
    elif command == "dump":
        from webmention.models import WebMentionResponse

        rows = [
            {"source": m.source, "target": m.response_to, "current": m.current}
            for m in WebMentionResponse.objects.order_by("id")
        ]
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
