"""Sends one webmention with indieweb-utils, as a site using it would.

Usage: indieweb_utils_send.py SOURCE TARGET

Only the source and target are given: the library discovers the target's
webmention endpoint itself (from its HTTP `Link` header or an HTML
`<link rel="webmention">`) and posts to it. Prints one JSON object on
stdout: the library's version, what it discovered and the endpoint's answer
(status code and headers) on success, exit 0; the exception on failure,
exit 1. Run by tests/it/real_senders.rs from the venv in target/py-senders.
"""

import json
import sys

import indieweb_utils


def main() -> int:
    source, target = sys.argv[1:3]
    report = {"version": indieweb_utils.__version__}
    try:
        # What `send_webmention` will find (it does the same discovery
        # again itself; this call is only for the report).
        report["discovered"] = indieweb_utils.discover_webmention_endpoint(target).endpoint
        response = indieweb_utils.send_webmention(source, target)
    except Exception as error:  # noqa: BLE001 - any failure is the report
        report["error"] = f"{type(error).__module__}.{type(error).__name__}: {error}"
        print(json.dumps(report))
        return 1
    report["status_code"] = response.status_code
    report["url"] = response.url
    report["headers"] = {header.name.lower(): header.value for header in response.headers}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
